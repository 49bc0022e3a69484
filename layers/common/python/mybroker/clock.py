"""The system's notion of "now": wall time, shifted by a simulated offset that tests and demos drive.

Locally the runtime's ``/_local/clock`` sets the offset and stores it in Redis, so the scheduler, the
functions and the matching engine all see the same simulated time. On AWS no offset is stored and this
is the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

OFFSET_KEY = "mybroker:clock:offset_ns"
_CACHE_S = 0.5


class SystemClock:
    def __init__(self, redis: Any | None = None) -> None:
        self.redis = redis
        self._offset_ns = 0
        self._read_at = 0.0

    def offset_ns(self) -> int:
        if self.redis is None:
            return 0
        now = time.monotonic()
        if now - self._read_at > _CACHE_S:
            try:
                raw = self.redis.get(OFFSET_KEY)
                self._offset_ns = int(raw) if raw is not None else 0
            except Exception:  # the clock must never break a caller; keep the last known offset
                pass
            self._read_at = now
        return self._offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ns() / 1e9, UTC)


def store_offset(redis: Any, offset_ns: int) -> None:
    redis.set(OFFSET_KEY, str(offset_ns))


def load_offset(redis: Any) -> int:
    raw = redis.get(OFFSET_KEY)
    return int(raw) if raw is not None else 0
