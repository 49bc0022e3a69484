"""B3's fees for individuals against the published rates (../shared/reference/b3.md), with the expected
cents worked out by hand here, not by calling the code under test.

- up to 31 Jul 2025: trading 0.005 % + settlement 0.025 % = 0.030 % of the traded value;
- from 1 Aug 2025: 0.0230 % (2.30 bps) for an individual trading up to R$ 3M a day (the first band).
The simulator rounds a fee up to the next cent, so that a hold always covers the charge (docs/wallet.md).
"""

from __future__ import annotations

from datetime import date

import pytest
from mybroker.fees import b3_fees_cents

OLD, NEW = date(2025, 7, 31), date(2025, 8, 1)


@pytest.mark.parametrize(("value_cents", "day", "expected_cents"), [
    # R$ 10,000.00 x 0.030 % = R$ 3.00
    (1_000_000, OLD, 300),
    # R$ 10,000.00 x 0.0230 % = R$ 2.30
    (1_000_000, NEW, 230),
    # 100 PETR4 at R$ 38.40 = R$ 3,840.00; x 0.0230 % = R$ 0.8832 -> 89 cents (up)
    (384_000, NEW, 89),
    # the same before August 2025: x 0.030 % = R$ 1.152 -> R$ 1.16
    (384_000, OLD, 116),
    # 7 shares (fractional market) at R$ 12.34 = R$ 86.38; x 0.0230 % = R$ 0.01986... -> 2 cents
    (8_638, NEW, 2),
    # R$ 1.00 x 0.0230 % = R$ 0.00023 -> 1 cent: any trade pays at least a cent
    (100, NEW, 1),
    # exactly on a cent: R$ 100,000.00 x 0.0230 % = R$ 23.00, no rounding up
    (10_000_000, NEW, 2_300),
    # R$ 1,000,000.01 x 0.0230 % = R$ 230.0000023 -> R$ 230.01
    (100_000_001, NEW, 23_001),
])
def test_b3_fees_follow_the_published_rates(value_cents: int, day: date, expected_cents: int) -> None:
    assert b3_fees_cents(value_cents, day) == expected_cents


def test_nothing_traded_costs_nothing() -> None:
    assert b3_fees_cents(0, NEW) == 0
