"""The B3 session as the engine sees it: nanosecond boundaries between its phases.

The schedule itself (the two variants that follow New York's clock changes, Ash Wednesday's late open) is
:mod:`mybroker.b3.session`'s, the one the broker and market data use; this module only turns a day's windows
into the engine's ``(ns, phase)`` boundaries and caches them. The engine trades the cash market's phases:
the post-close cancellation window and the after-market are CLOSED for it.

Which days trade is the engine's own data (``SessionCalendar.holidays``, carried in its snapshots), so a
restored engine replays exactly as it ran. The engine never reads the wall clock: it asks which phase a given
instant (``now_ns`` from a ``ClockTick``) falls in, and when the next boundary is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from mybroker.b3.session import SAO_PAULO, session_windows
from mybroker.b3.session import Phase as SessionPhase

from engine_service.core.records import Phase

_NS = 1_000_000_000
# the session's phases the engine runs; any other window (post-close, after-market) is CLOSED for it
_ENGINE_PHASES: dict[SessionPhase, str] = {
    SessionPhase.PRE_OPEN: Phase.PRE_OPEN,
    SessionPhase.OPENING_AUCTION: Phase.OPENING_AUCTION,
    SessionPhase.CONTINUOUS: Phase.CONTINUOUS,
    SessionPhase.CLOSING_CALL: Phase.CLOSING_CALL,
}


def local_date(now_ns: int) -> date:
    return datetime.fromtimestamp(now_ns // _NS, tz=SAO_PAULO).date()


def date_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _ns(t: datetime) -> int:
    return int(t.timestamp()) * _NS


def day_boundaries(day: date) -> tuple[tuple[int, str], ...]:
    """``(ns, phase)`` for each phase change of ``day`` as a trading day, ending with CLOSED."""
    out: list[tuple[int, str]] = []
    closes_at = 0
    for window in session_windows(day):
        phase = _ENGINE_PHASES.get(window.phase)
        if phase is None:
            continue
        start = _ns(window.start)
        if out and closes_at != start:
            out.append((closes_at, Phase.CLOSED))
        out.append((start, phase))
        closes_at = _ns(window.end)
    if out:
        out.append((closes_at, Phase.CLOSED))
    return tuple(out)


class SessionCalendar:
    """Trading days (Monday to Friday, minus ``holidays``) and their phase boundaries."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self._cache: dict[date, tuple[tuple[int, str], ...]] = {}

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def boundaries(self, day: date) -> tuple[tuple[int, str], ...]:
        """(ns, phase) boundaries of ``day``; empty on non-trading days."""
        cached = self._cache.get(day)
        if cached is None:
            cached = day_boundaries(day) if self.is_trading_day(day) else ()
            self._cache[day] = cached
        return cached

    def phase_at(self, now_ns: int) -> str:
        phase: str = Phase.CLOSED
        for ns, boundary_phase in self.boundaries(local_date(now_ns)):
            if ns <= now_ns:
                phase = boundary_phase
        return phase

    def next_boundary(self, now_ns: int) -> tuple[int, str]:
        """The first boundary strictly after ``now_ns`` (searches up to 30 days ahead)."""
        day = local_date(now_ns)
        for _ in range(31):
            for ns, phase in self.boundaries(day):
                if ns > now_ns:
                    return ns, phase
            day += timedelta(days=1)
        return now_ns + 30 * 86400 * _NS, Phase.CLOSED
