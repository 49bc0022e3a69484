"""EventBridge Scheduler, locally: cron/rate/at expressions in a time zone, a clock that tests can drive,
and the scheduled-event payload, delivered as an asynchronous invocation (two retries on error)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mybroker.clock import load_offset, store_offset

from infra.declarations import Schedule
from local_runtime.environment import ACCOUNT, REGION

MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}  # AWS: SUN=1 ... SAT=7
MAX_CATCH_UP = 3  # a clock jump fires at most this many missed occurrences (the newest), like a late poll


class ExpressionError(ValueError):
    pass


def _field(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """Values allowed by one cron field; None means any (``*`` or ``?``)."""
    if text in ("*", "?"):
        return None
    for token in re.split(r"[,/-]", text):
        if token != "*" and not token.isdigit() and token.upper() not in (names or {}):
            raise ExpressionError(f"cron field {text!r}: {token!r} is not supported by the local scheduler "
                                  "(numbers, names, ranges, lists and steps are; L, W and # are not)")
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = hi if "/" in text else start
        if not (lo <= start <= hi and lo <= end <= hi):
            raise ExpressionError(f"cron field {text!r} out of range {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    try:
        return int(text)
    except ValueError:
        raise ExpressionError(f"bad cron value {text!r}") from None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # AWS numbering, SUN=1
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ExpressionError(f"cron({body}) needs 6 fields: minutes hours day-of-month month day-of-week year")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ExpressionError("cron: exactly one of day-of-month and day-of-week must be '?'")
        return cls(_field(fields[0], 0, 59), _field(fields[1], 0, 23), _field(fields[2], 1, 31),
                   _field(fields[3], 1, 12, MONTHS), _field(fields[4], 1, 7, DAYS), _field(fields[5], 1970, 2199))

    def matches_day(self, d: datetime) -> bool:
        aws_weekday = (d.isoweekday() % 7) + 1  # Monday=1 in ISO -> MON=2 in AWS
        return ((self.years is None or d.year in self.years) and (self.months is None or d.month in self.months)
                and (self.days is None or d.day in self.days)
                and (self.weekdays is None or aws_weekday in self.weekdays))

    def next_after(self, t: datetime) -> datetime | None:
        """The first matching minute strictly after ``t`` (an aware datetime in the schedule's zone)."""
        c = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = c + timedelta(days=366 * 5)
        while c < limit:
            if not self.matches_day(c):
                c = (c + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if self.hours is not None and c.hour not in self.hours:
                c = (c + timedelta(hours=1)).replace(minute=0)
                continue
            if self.minutes is not None and c.minute not in self.minutes:
                c += timedelta(minutes=1)
                continue
            return c
        return None


@dataclass(frozen=True)
class Expression:
    kind: str  # "rate" | "cron" | "at"
    rate: timedelta | None = None
    cron: Cron | None = None
    at: datetime | None = None

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> Expression:
        m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", text.strip())
        if m:
            n, unit = int(m.group(1)), m.group(2).rstrip("s")
            if n < 1 or (n == 1) != (not m.group(2).endswith("s")):
                raise ExpressionError(f"{text}: use 'rate(1 minute)' or 'rate(N minutes)'")
            return cls("rate", rate=timedelta(**{unit + "s": n}))
        m = re.fullmatch(r"cron\((.+)\)", text.strip())
        if m:
            return cls("cron", cron=Cron.parse(m.group(1)))
        m = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", text.strip())
        if m:
            return cls("at", at=datetime.fromisoformat(m.group(1)).replace(tzinfo=tz))
        raise ExpressionError(f"unsupported schedule expression {text!r}")

    def next_after(self, t: datetime, anchor: datetime) -> datetime | None:
        if self.rate is not None:
            periods = (t - anchor) // self.rate + 1
            return anchor + periods * self.rate
        if self.cron is not None:
            return self.cron.next_after(t)
        assert self.at is not None
        return self.at if self.at > t else None


class Clock:
    """Wall time, or simulated time that tests and demos set and advance; it keeps running from where
    it was set. With a Redis client the offset is shared (``mybroker.clock``): the functions and the
    engine see the same simulated time, and it survives a runtime restart."""

    def __init__(self, redis: Any | None = None) -> None:
        self._redis = redis
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        if redis is not None:
            self._offset = timedelta(microseconds=load_offset(redis) // 1000)

    def _share(self) -> None:
        if self._redis is not None:
            store_offset(self._redis, int(self._offset.total_seconds() * 1_000_000) * 1000)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        with self._lock:
            self._offset = when.astimezone(UTC) - datetime.now(UTC)
            self._share()

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta
            self._share()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._share()


def scheduled_event(schedule: Schedule, when: datetime) -> dict[str, object]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule.name}"],
        "detail": {},
    }


Invoker = Callable[[str, dict[str, object]], bool]  # (function, event) -> succeeded


class Scheduler:
    """Fires each enabled schedule when the clock passes its next occurrence."""

    def __init__(self, schedules: tuple[Schedule, ...], clock: Clock, invoke: Invoker,
                 retry_delays_s: tuple[float, ...] = (1.0, 2.0)) -> None:
        self.clock = clock
        self.invoke = invoke
        self.retry_delays_s = retry_delays_s
        self.entries: list[tuple[Schedule, Expression, ZoneInfo]] = []
        for s in schedules:
            tz = ZoneInfo(s.timezone)
            self.entries.append((s, Expression.parse(s.expression, tz), tz))
        start = self.clock.now()
        self.anchor = start
        self.last_checked = start
        self.fired: list[tuple[str, datetime, bool]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def due(self, since: datetime, until: datetime) -> list[tuple[Schedule, datetime]]:
        out: list[tuple[Schedule, datetime]] = []
        for s, expr, tz in self.entries:
            if not s.enabled:
                continue
            occurrences: list[datetime] = []
            t = since.astimezone(tz)
            while True:
                nxt = expr.next_after(t, self.anchor.astimezone(tz))
                if nxt is None or nxt > until:
                    break
                occurrences.append(nxt)
                t = nxt
                if len(occurrences) > 10 * MAX_CATCH_UP:
                    break
            out.extend((s, o) for o in occurrences[-MAX_CATCH_UP:])
        out.sort(key=lambda p: p[1])
        return out

    def tick(self) -> int:
        """Fire whatever became due since the last tick; returns how many invocations were made."""
        with self._lock:
            now = self.clock.now()
            due = self.due(self.last_checked, now)
            self.last_checked = now
        for schedule, when in due:
            self._deliver(schedule, when)
        return len(due)

    def _deliver(self, schedule: Schedule, when: datetime) -> None:
        event = scheduled_event(schedule, when)
        ok = self.invoke(schedule.function, event)
        for delay in self.retry_delays_s:
            if ok:
                break
            time.sleep(delay)
            ok = self.invoke(schedule.function, event)
        self.fired.append((schedule.name, when, ok))

    def run(self) -> None:
        while not self._stop.wait(1.0):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
