"""The B3 session schedule: both variants, boundaries, late open, closed days, next change."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mybroker.b3.session import SAO_PAULO, VARIANTS, Phase, day_schedule, next_change, phase_at, variant_for


def sp(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SAO_PAULO)


STANDARD_DAY = (2025, 11, 17)  # Monday, US on standard time
DAYLIGHT_DAY = (2025, 7, 14)  # Monday, US on daylight time


@pytest.mark.parametrize(("hm", "phase"), [
    ((9, 29), Phase.CLOSED), ((9, 30), Phase.PRE_OPEN), ((9, 45), Phase.OPENING_AUCTION),
    ((10, 0), Phase.CONTINUOUS), ((17, 54), Phase.CONTINUOUS), ((17, 55), Phase.CLOSING_CALL),
    ((18, 0), Phase.CLOSED), ((18, 25), Phase.POST_CLOSE), ((18, 45), Phase.CLOSED)])
def test_standard_time_variant(hm: tuple[int, int], phase: Phase) -> None:
    assert phase_at(sp(*STANDARD_DAY, *hm)) is phase


@pytest.mark.parametrize(("hm", "phase"), [
    ((9, 50), Phase.OPENING_AUCTION), ((16, 54), Phase.CONTINUOUS), ((16, 55), Phase.CLOSING_CALL),
    ((17, 0), Phase.CLOSED), ((17, 30), Phase.AFTER_MARKET), ((17, 59), Phase.AFTER_MARKET), ((18, 0), Phase.CLOSED),
    ((18, 30), Phase.CLOSED)])
def test_daylight_time_variant(hm: tuple[int, int], phase: Phase) -> None:
    assert phase_at(sp(*DAYLIGHT_DAY, *hm)) is phase


def test_variant_switches_with_us_clocks() -> None:
    assert variant_for(date(2025, 3, 7)) == "us-standard"  # Friday before the US change (Sun Mar 9)
    assert variant_for(date(2025, 3, 10)) == "us-daylight"
    assert variant_for(date(2025, 10, 31)) == "us-daylight"
    assert variant_for(date(2025, 11, 3)) == "us-standard"  # US back on Nov 2


def test_closed_days() -> None:
    assert phase_at(sp(2025, 11, 20, 11)) is Phase.CLOSED  # Black Consciousness Day
    assert phase_at(sp(2025, 11, 22, 11)) is Phase.CLOSED  # Saturday
    assert day_schedule(date(2025, 12, 25)) is None


def test_ash_wednesday_opens_at_13() -> None:
    s = day_schedule(date(2026, 2, 18))
    assert s is not None and s.open == sp(2026, 2, 18, 13)
    assert phase_at(sp(2026, 2, 18, 11)) is Phase.CLOSED
    assert phase_at(sp(2026, 2, 18, 12, 50)) is Phase.OPENING_AUCTION
    assert phase_at(sp(2026, 2, 18, 13, 1)) is Phase.CONTINUOUS


def test_aware_utc_and_naive_inputs() -> None:
    assert phase_at(datetime(2025, 11, 17, 14, 0, tzinfo=UTC)) is Phase.CONTINUOUS  # 11:00 in São Paulo
    assert phase_at(datetime(2025, 11, 17, 9, 50)) is Phase.OPENING_AUCTION  # naive = São Paulo


def test_next_change_walks_the_day_and_skips_holidays() -> None:
    t = sp(2025, 11, 19, 17, 0)  # Wednesday before Nov 20
    seen = []
    for _ in range(6):
        t, phase = next_change(t)
        seen.append((t, phase))
    assert seen[0] == (sp(2025, 11, 19, 17, 55), Phase.CLOSING_CALL)
    assert seen[1] == (sp(2025, 11, 19, 18, 0), Phase.CLOSED)
    assert seen[2] == (sp(2025, 11, 19, 18, 25), Phase.POST_CLOSE)
    assert seen[3] == (sp(2025, 11, 19, 18, 45), Phase.CLOSED)
    assert seen[4] == (sp(2025, 11, 21, 9, 30), Phase.PRE_OPEN)  # Thursday is a holiday
    assert seen[5] == (sp(2025, 11, 21, 9, 45), Phase.OPENING_AUCTION)


def test_schedule_is_data_with_both_variants() -> None:
    assert set(VARIANTS) == {"us-standard", "us-daylight"}
    for windows in VARIANTS.values():
        assert all(w.start < w.end for w in windows)
        assert all(a.end <= b.start for a, b in itertools.pairwise(windows))


@given(st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)))
def test_next_change_really_changes(naive: datetime) -> None:
    t = naive.replace(tzinfo=SAO_PAULO)
    at, phase = next_change(t)
    assert at > t and phase_at(at) is phase and phase is not phase_at(t)
    assert phase_at(at - timedelta(microseconds=1)) is phase_at(t)
