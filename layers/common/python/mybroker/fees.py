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
    # the part of it that is the settlement fee (taxa de liquidação); the rest is the trading fee (emolumentos)
    settlement_bps_times_100: int
    commission_cents: int = 0


SCHEDULES: tuple[FeeSchedule, ...] = (
    # the old table for individuals: trading 0.50 + settlement 2.50 bps
    FeeSchedule(effective_from=date(2019, 1, 1), b3_bps_times_100=300, settlement_bps_times_100=250),
    # since August 2025 B3 publishes one rate per band (2.30 bps up to R$3M a day); its split is not published
    # where we could confirm it, so the split of the old 2.30 bps table is kept: trading 0.50 + settlement 1.80
    FeeSchedule(effective_from=date(2025, 8, 1), b3_bps_times_100=230, settlement_bps_times_100=180),
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


def b3_fee_parts(traded_value_cents: int, fees_cents: int, day: date) -> tuple[int, int]:
    """(trading fee, settlement fee) of a trade charged ``fees_cents``, as a brokerage note shows them: the
    settlement fee at its rate rounded up, the trading fee the rest, so the two always add up to the charge."""
    s = schedule_on(day)
    settlement = -(-max(traded_value_cents, 0) * s.settlement_bps_times_100 // 1_000_000)
    settlement = min(settlement, fees_cents - s.commission_cents)
    return fees_cents - s.commission_cents - settlement, settlement
