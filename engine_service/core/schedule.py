"""B3 cash-market session schedule, kept as data.

B3 shifts its hours when the US changes clocks: one variant applies while New York is on
standard time, the other while it is on daylight time. Times are America/Sao_Paulo.
The engine never reads the wall clock: it asks this module which phase a given instant
(``now_ns`` from a ``ClockTick``) falls in, and when the next boundary is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine_service.core.records import Phase

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")

US_STANDARD_TIME = "US_STANDARD_TIME"
US_DAYLIGHT_TIME = "US_DAYLIGHT_TIME"

# Each variant: (local start time, phase) in order; before the first entry the market is CLOSED.
# 09:30-09:45 cancellation window, 09:45-10:00 opening call, continuous, closing call, closed.
SESSION_SCHEDULES: dict[str, tuple[tuple[time, str], ...]] = {
    US_STANDARD_TIME: (
        (time(9, 30), Phase.PRE_OPEN),
        (time(9, 45), Phase.OPENING_AUCTION),
        (time(10, 0), Phase.CONTINUOUS),
        (time(17, 55), Phase.CLOSING_CALL),
        (time(18, 0), Phase.CLOSED),
    ),
    US_DAYLIGHT_TIME: (
        (time(9, 30), Phase.PRE_OPEN),
        (time(9, 45), Phase.OPENING_AUCTION),
        (time(10, 0), Phase.CONTINUOUS),
        (time(16, 55), Phase.CLOSING_CALL),
        (time(17, 0), Phase.CLOSED),
    ),
}

_NS = 1_000_000_000


def variant_for(day: date) -> str:
    """The schedule variant in force on ``day`` (by New York's clock at noon)."""
    noon = datetime.combine(day, time(12, 0), tzinfo=NEW_YORK)
    return US_DAYLIGHT_TIME if noon.dst() else US_STANDARD_TIME


def to_ns(day: date, at: time) -> int:
    return int(datetime.combine(day, at, tzinfo=SAO_PAULO).timestamp()) * _NS


def local_date(now_ns: int) -> date:
    return datetime.fromtimestamp(now_ns // _NS, tz=SAO_PAULO).date()


def date_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class SessionCalendar:
    """Trading days (Monday to Friday, minus ``holidays``) and their phase boundaries."""

    def __init__(
        self,
        holidays: Iterable[date] = (),
        schedules: dict[str, tuple[tuple[time, str], ...]] | None = None,
    ) -> None:
        self.holidays = frozenset(holidays)
        self.schedules = schedules if schedules is not None else SESSION_SCHEDULES
        self._cache: dict[date, tuple[tuple[int, str], ...]] = {}

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def boundaries(self, day: date) -> tuple[tuple[int, str], ...]:
        """(ns, phase) boundaries of ``day``; empty on non-trading days."""
        cached = self._cache.get(day)
        if cached is None:
            if self.is_trading_day(day):
                cached = tuple((to_ns(day, at), phase) for at, phase in self.schedules[variant_for(day)])
            else:
                cached = ()
            self._cache[day] = cached
        return cached

    def phase_at(self, now_ns: int) -> str:
        phase = Phase.CLOSED
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
