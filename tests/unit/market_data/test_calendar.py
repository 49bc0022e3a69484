"""The B3 business-day calendar."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from mybroker.b3.calendar import (
    B3Calendar,
    add_business_days,
    easter,
    holidays,
    is_business_day,
    next_business_day,
    previous_business_day,
    settlement_date,
)


def test_easter_known_dates() -> None:
    assert [easter(y) for y in (2019, 2024, 2025, 2026, 2027)] == [
        date(2019, 4, 21), date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28)]


def test_2025_closures() -> None:
    h = holidays(2025)
    assert set(h) == {
        date(2025, 1, 1), date(2025, 3, 3), date(2025, 3, 4), date(2025, 4, 18), date(2025, 4, 21),
        date(2025, 5, 1), date(2025, 6, 19), date(2025, 9, 7), date(2025, 10, 12), date(2025, 11, 2),
        date(2025, 11, 15), date(2025, 11, 20), date(2025, 12, 24), date(2025, 12, 25), date(2025, 12, 31)}
    assert "Corpus Christi" in h[date(2025, 6, 19)]


def test_movable_feasts_2026() -> None:
    assert not is_business_day(date(2026, 2, 16)) and not is_business_day(date(2026, 2, 17))  # Carnival
    assert is_business_day(date(2026, 2, 18))  # Ash Wednesday trades (late open)
    assert not is_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_business_day(date(2026, 6, 4))  # Corpus Christi


def test_black_consciousness_day_is_national_from_2024() -> None:
    assert is_business_day(date(2023, 11, 20))
    assert not is_business_day(date(2024, 11, 20))
    assert not is_business_day(date(2026, 11, 20))


def test_weekends() -> None:
    assert not is_business_day(date(2025, 11, 15))  # Saturday (and a holiday)
    assert not is_business_day(date(2025, 11, 16))
    assert is_business_day(date(2025, 11, 17))


def test_t_plus_2() -> None:
    assert settlement_date(date(2025, 11, 13)) == date(2025, 11, 17)  # Thu -> Mon
    assert settlement_date(date(2025, 11, 18)) == date(2025, 11, 21)  # over Nov 20
    assert settlement_date(date(2025, 2, 28)) == date(2025, 3, 6)  # over Carnival (Ash Wednesday counts)
    assert settlement_date(date(2025, 12, 23)) == date(2025, 12, 29)  # over Dec 24/25
    assert settlement_date(date(2025, 12, 30)) == date(2026, 1, 5)  # over Dec 31/Jan 1
    assert add_business_days(date(2025, 11, 15), 2) == date(2025, 11, 18)  # from a Saturday
    assert add_business_days(date(2025, 11, 17), 0) == date(2025, 11, 17)
    assert add_business_days(date(2025, 11, 17), -1) == date(2025, 11, 14)


def test_next_and_previous() -> None:
    assert next_business_day(date(2025, 12, 23)) == date(2025, 12, 26)
    assert previous_business_day(date(2026, 1, 2)) == date(2025, 12, 30)


def test_extra_closures() -> None:
    cal = B3Calendar(extra_closures=frozenset({date(2025, 11, 19)}))
    assert not cal.is_business_day(date(2025, 11, 19))
    assert cal.add_business_days(date(2025, 11, 18), 1) == date(2025, 11, 21)
    assert date(2025, 11, 19) in cal.holidays(2025)


@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(1, 30))
def test_add_business_days_properties(d: date, n: int) -> None:
    out = add_business_days(d, n)
    assert is_business_day(out) and out > d
    count = sum(1 for k in range(1, (out - d).days + 1) if is_business_day(d + timedelta(days=k)))
    assert count == n
    if is_business_day(d):
        assert add_business_days(out, -n) == d
