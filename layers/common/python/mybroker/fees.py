"""B3 exchange fees for individual investors, as dated configuration (``../shared/reference/b3.md``).

Since August 2025 the rate depends on the investor's prior-month average daily traded value; the
simulator charges the first band (2.30 bps: trading + settlement) on normal trades, which is what an
individual trading less than R$3M a day pays. Commission is zero (most Brazilian retail brokers charge
none). Amounts are integer cents, rounded up so that a reservation always covers the charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FeeSchedule:
    effective_from: date
    b3_bps_times_100: int  # 2.30 bps -> 230 (hundredths of a basis point, to stay in integers)
    commission_cents: int = 0


SCHEDULES: tuple[FeeSchedule, ...] = (
    FeeSchedule(effective_from=date(2019, 1, 1), b3_bps_times_100=300),  # trading 0.5 + settlement 2.5 bps
    FeeSchedule(effective_from=date(2025, 8, 1), b3_bps_times_100=230),
)


def schedule_on(day: date) -> FeeSchedule:
    current = SCHEDULES[0]
    for s in SCHEDULES:
        if s.effective_from <= day:
            current = s
    return current


def b3_fees_cents(traded_value_cents: int, day: date) -> int:
    """B3 fees on one trade's value (quantity x price, in cents), rounded up to the cent."""
    if traded_value_cents <= 0:
        return 0
    s = schedule_on(day)
    # value * bps / 10_000, with bps in hundredths: value * b / 1_000_000, ceiling in integers
    return -(-traded_value_cents * s.b3_bps_times_100 // 1_000_000) + s.commission_cents
