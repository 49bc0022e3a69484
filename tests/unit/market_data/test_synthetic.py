"""The synthetic feed: deterministic, integer cents, plausible prices and an intraday U-shaped volume."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta

from mybroker.b3.session import SAO_PAULO
from mybroker.market_data.synthetic import SyntheticFeed, profile_for

DAY = date(2025, 11, 17)
TICKERS = ["PETR4", "VALE3", "ITUB4", "BBDC4", "BBAS3", "ABEV3", "WEGE3", "B3SA3", "BOVA11", "HGLG11"]


def at(h: int, m: int = 0, d: date = DAY) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, tzinfo=SAO_PAULO)


def test_deterministic_for_seed_and_timestamp() -> None:
    a = SyntheticFeed(7).fetch(TICKERS, at(12, 34)).quotes
    b = SyntheticFeed(7).fetch(TICKERS, at(12, 34)).quotes
    c = SyntheticFeed(8).fetch(TICKERS, at(12, 34)).quotes
    assert a == b and a != c
    # asking for an earlier time afterwards changes nothing (no hidden state)
    f = SyntheticFeed(7)
    f.quote("PETR4", at(15))
    assert f.quote("PETR4", at(12, 34)) == a[0]


def test_prices_are_integer_cents_near_the_base() -> None:
    feed = SyntheticFeed(1)
    for t in TICKERS:
        q = feed.quote(t, at(14))
        assert isinstance(q.last_cents, int) and q.last_cents > 0
        base = profile_for(t).base_cents
        assert 0.5 * base < q.last_cents < 2.0 * base
        assert q.low_cents is not None and q.high_cents is not None
        assert q.low_cents <= q.last_cents <= q.high_cents


def test_path_moves_and_volume_accumulates() -> None:
    feed = SyntheticFeed(3)
    quotes = [feed.quote("PETR4", at(10) + timedelta(minutes=m)) for m in range(0, 400, 10)]
    assert len({q.last_cents for q in quotes}) > 5
    vols = [q.day_volume or 0 for q in quotes]
    assert vols == sorted(vols) and vols[-1] > 0


def test_u_shaped_volume() -> None:
    _prices, volumes = SyntheticFeed(5).session_path("PETR4", DAY)
    n = len(volumes)
    assert n == (17 * 60 + 55 - 10 * 60)  # continuous minutes, US standard time variant
    edge = sum(volumes[:30]) + sum(volumes[-30:])
    middle = sum(volumes[n // 2 - 30:n // 2 + 30])
    assert edge > 1.8 * middle
    assert all(v % 100 == 0 for v in volumes)


def test_realised_volatility_is_plausible() -> None:
    feed = SyntheticFeed(11)
    closes = [c for _, c in feed.history("PETR4", date(2024, 1, 1), date(2025, 12, 31))]
    rets = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)) * math.sqrt(252)
    assert 0.10 < sd < 0.60  # profile sigma 0.30


def test_closed_day_and_before_open_show_the_last_close() -> None:
    feed = SyntheticFeed(2)
    friday_close = feed.quote("VALE3", at(19, 0, date(2025, 11, 14)))
    saturday = feed.quote("VALE3", at(12, 0, date(2025, 11, 15)))
    monday_early = feed.quote("VALE3", at(9, 0))
    assert saturday.last_cents == friday_close.last_cents == monday_early.last_cents
    assert monday_early.day_volume == 0


def test_unknown_valid_tickers_get_a_stable_profile_and_invalid_ones_fail() -> None:
    r = SyntheticFeed(1).fetch(["ZZZZ3", "nope"], at(11))
    assert [q.ticker for q in r.quotes] == ["ZZZZ3"] and "nope" in r.failed
