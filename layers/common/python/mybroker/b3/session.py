"""The B3 cash-market (and fractional-market) session schedule, as data, in America/Sao_Paulo time.

B3 shifts its afternoon when the US changes clocks, so there are two variants (``VARIANTS``):

==================  ==============================  ==============================
phase               US on standard time (Nov-Mar)   US on daylight time (Mar-Nov)
==================  ==============================  ==============================
PRE_OPEN            09:30-09:45 (cancellation)      09:30-09:45 (cancellation)
OPENING_AUCTION     09:45-10:00 (pre-opening call)  09:45-10:00
CONTINUOUS          10:00-17:55                     10:00-16:55
CLOSING_CALL        17:55-18:00                     16:55-17:00
AFTER_MARKET        (none)                          17:30-18:00
POST_CLOSE          18:25-18:45 (cancellation)      (none)
CLOSED              any other time, and all day on non-business days
==================  ==============================  ==============================

Which variant applies to a date: whether New York observes daylight saving time at noon that day.
On Ash Wednesday B3 opens late: the opening call ends at 13:00 (``ASH_WEDNESDAY_OPEN``).

Usage::

    from mybroker.b3.session import Phase, phase_at, next_change
    phase_at(now) is Phase.CONTINUOUS
    at, phase = next_change(now)

Every function takes an aware ``datetime`` (a naive one is read as São Paulo wall time) and returns
aware datetimes in São Paulo time. There is no clock in here: callers pass "now" (the ingest handler
takes it from the scheduled event, so tests drive it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from mybroker.b3.calendar import DEFAULT, B3Calendar, ash_wednesday

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")

Variant = Literal["us-standard", "us-daylight"]


class Phase(StrEnum):
    CLOSED = "CLOSED"
    PRE_OPEN = "PRE_OPEN"  # cancellation window before the open: cancels only
    OPENING_AUCTION = "OPENING_AUCTION"  # pre-opening call: orders accepted, indicative price, no trades
    CONTINUOUS = "CONTINUOUS"
    CLOSING_CALL = "CLOSING_CALL"  # closing auction call
    AFTER_MARKET = "AFTER_MARKET"  # cash shares only, within ±2% of the close (US daylight variant)
    POST_CLOSE = "POST_CLOSE"  # cancellation window after the close: cancels only

    @property
    def trades(self) -> bool:
        """True when trades can print: continuous trading, auction uncrosses and the after-market."""
        return self in (Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_CALL, Phase.AFTER_MARKET)

    @property
    def accepts_orders(self) -> bool:
        return self in (Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_CALL, Phase.AFTER_MARKET)


@dataclass(frozen=True)
class WindowSpec:
    """One phase of the day as wall-clock times; ``end`` is exclusive."""

    phase: Phase
    start: time
    end: time


VARIANTS: dict[Variant, tuple[WindowSpec, ...]] = {
    "us-standard": (
        WindowSpec(Phase.PRE_OPEN, time(9, 30), time(9, 45)),
        WindowSpec(Phase.OPENING_AUCTION, time(9, 45), time(10, 0)),
        WindowSpec(Phase.CONTINUOUS, time(10, 0), time(17, 55)),
        WindowSpec(Phase.CLOSING_CALL, time(17, 55), time(18, 0)),
        WindowSpec(Phase.POST_CLOSE, time(18, 25), time(18, 45)),
    ),
    "us-daylight": (
        WindowSpec(Phase.PRE_OPEN, time(9, 30), time(9, 45)),
        WindowSpec(Phase.OPENING_AUCTION, time(9, 45), time(10, 0)),
        WindowSpec(Phase.CONTINUOUS, time(10, 0), time(16, 55)),
        WindowSpec(Phase.CLOSING_CALL, time(16, 55), time(17, 0)),
        WindowSpec(Phase.AFTER_MARKET, time(17, 30), time(18, 0)),
    ),
}
ASH_WEDNESDAY_OPEN = time(13, 0)
_REGULAR_OPEN = time(10, 0)


@dataclass(frozen=True)
class Window:
    phase: Phase
    start: datetime  # aware, São Paulo
    end: datetime  # exclusive

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class DaySchedule:
    """The phases of one business day; times between windows are CLOSED."""

    day: date
    variant: Variant
    windows: tuple[Window, ...]

    def window(self, phase: Phase) -> Window | None:
        return next((w for w in self.windows if w.phase is phase), None)

    @property
    def open(self) -> datetime:
        """Start of continuous trading."""
        w = self.window(Phase.CONTINUOUS)
        assert w is not None
        return w.start

    @property
    def close(self) -> datetime:
        """End of the closing call: the closing price is known from here."""
        w = self.window(Phase.CLOSING_CALL)
        assert w is not None
        return w.end


def variant_for(d: date) -> Variant:
    """'us-daylight' when New York observes daylight saving time at noon on ``d``."""
    dst = datetime.combine(d, time(12, 0), NEW_YORK).dst()
    return "us-daylight" if dst else "us-standard"


def _shift(t: time, minutes: int) -> time:
    return (datetime.combine(date(2000, 1, 3), t) + timedelta(minutes=minutes)).time()


def day_schedule(d: date, calendar: B3Calendar = DEFAULT) -> DaySchedule | None:
    """The session of ``d``, or None when B3 does not trade that day."""
    if not calendar.is_business_day(d):
        return None
    return DaySchedule(d, variant_for(d), session_windows(d))


def session_windows(d: date) -> tuple[Window, ...]:
    """The phases ``d`` would have as a trading day (its variant, Ash Wednesday's late open), whatever the
    calendar says; the matching engine applies its own list of trading days."""
    specs = VARIANTS[variant_for(d)]
    late = 0
    if d == ash_wednesday(d.year):
        late = (ASH_WEDNESDAY_OPEN.hour - _REGULAR_OPEN.hour) * 60 + ASH_WEDNESDAY_OPEN.minute
    windows = []
    for s in specs:
        start, end = s.start, s.end
        if late and s.phase in (Phase.PRE_OPEN, Phase.OPENING_AUCTION):
            start, end = _shift(start, late), _shift(end, late)
        elif late and s.phase is Phase.CONTINUOUS:
            start = ASH_WEDNESDAY_OPEN
        windows.append(Window(s.phase, datetime.combine(d, start, SAO_PAULO),
                              datetime.combine(d, end, SAO_PAULO)))
    return tuple(windows)


def local(t: datetime) -> datetime:
    """``t`` in São Paulo time (a naive ``t`` is taken as São Paulo wall time)."""
    return t.replace(tzinfo=SAO_PAULO) if t.tzinfo is None else t.astimezone(SAO_PAULO)


def phase_at(t: datetime, calendar: B3Calendar = DEFAULT) -> Phase:
    """The cash-market phase at instant ``t``."""
    t = local(t)
    sched = day_schedule(t.date(), calendar)
    if sched is None:
        return Phase.CLOSED
    for w in sched.windows:
        if w.contains(t):
            return w.phase
    return Phase.CLOSED


def _boundaries(d: date, calendar: B3Calendar) -> list[tuple[datetime, Phase]]:
    """(instant, phase from that instant) for every phase change on ``d``."""
    sched = day_schedule(d, calendar)
    if sched is None:
        return []
    out: list[tuple[datetime, Phase]] = []
    for i, w in enumerate(sched.windows):
        out.append((w.start, w.phase))
        following = sched.windows[i + 1] if i + 1 < len(sched.windows) else None
        if following is None or following.start != w.end:
            out.append((w.end, Phase.CLOSED))
    return out


def next_change(t: datetime, calendar: B3Calendar = DEFAULT) -> tuple[datetime, Phase]:
    """The next instant strictly after ``t`` at which the phase changes, and the phase from then on."""
    t = local(t)
    current = phase_at(t, calendar)
    d = t.date()
    for _ in range(40):  # the longest run of closed days is far shorter
        for at, phase in _boundaries(d, calendar):
            if at > t and phase is not current:
                return at, phase
        d += timedelta(days=1)
    raise RuntimeError(f"no phase change within 40 days of {t.isoformat()}")


def trading_date(t: datetime) -> date:
    """The São Paulo calendar date of instant ``t``."""
    return local(t).date()
