"""Market-data domain rules: buckets, tickers, cents, quote events in mirror and simulated modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mybroker.b3.session import SAO_PAULO
from mybroker.market_data.domain import (
    BadRecord,
    ProviderQuote,
    bucket_start,
    parse_tickers,
    quote_event,
    should_ingest,
    to_cents,
)

T0 = datetime(2025, 11, 17, 13, 7, 42, tzinfo=UTC)  # 10:07:42 in São Paulo, a Monday


def pq(ts: datetime = T0, last: int = 3812, vol: int | None = 1000, **kw: int) -> ProviderQuote:
    return ProviderQuote(ticker="PETR4", ts=ts, last_cents=last, open_cents=kw.get("open", 3800),
                         high_cents=kw.get("high", 3820), low_cents=kw.get("low", 3790),
                         prev_close_cents=kw.get("prev", 3795), day_volume=vol)


def test_buckets() -> None:
    assert bucket_start(T0, "1m") == datetime(2025, 11, 17, 13, 7, tzinfo=UTC)
    assert bucket_start(T0, "5m") == datetime(2025, 11, 17, 13, 5, tzinfo=UTC)
    assert bucket_start(T0, "1h") == datetime(2025, 11, 17, 13, 0, tzinfo=UTC)
    assert bucket_start(T0, "1d") == datetime(2025, 11, 17, 0, 0, tzinfo=SAO_PAULO)
    late = datetime(2025, 11, 18, 1, 0, tzinfo=UTC)  # 22:00 on the 17th in São Paulo
    assert bucket_start(late, "1d") == datetime(2025, 11, 17, 0, 0, tzinfo=SAO_PAULO)


def test_tickers_and_cents() -> None:
    assert parse_tickers(" petr4,VALE3,petr4 ") == ("PETR4", "VALE3")
    assert parse_tickers(None, ("X",)) == ("X",)
    with pytest.raises(ValueError):
        parse_tickers("PETR4,DROP TABLE")
    assert to_cents(38.125) == 3813 and to_cents("0.01") == 1 and to_cents(12) == 1200
    assert to_cents(None) is None and to_cents(0) is None and to_cents(-1.0) is None and to_cents("x") is None
    assert to_cents(True) is None


def test_mirror_volume_is_the_growth_of_the_day_volume() -> None:
    first = quote_event(pq(vol=1000), None, "synthetic", "mirror")
    assert first is not None and first.tick_volume == 1000 and first.reference_cents == first.last_cents
    second = quote_event(pq(T0 + timedelta(minutes=1), 3815, 1600, high=3830), first, "synthetic", "mirror")
    assert second is not None and second.tick_volume == 600 and second.day_volume == 1600
    next_day = quote_event(pq(T0 + timedelta(days=1), 3900, 200), second, "synthetic", "mirror")
    assert next_day is not None and next_day.tick_volume == 200


def test_same_observation_gives_the_same_event_and_older_is_stale() -> None:
    first = quote_event(pq(), None, "brapi", "mirror")
    assert first is not None
    assert quote_event(pq(), first, "brapi", "mirror") is first
    assert quote_event(pq(T0 - timedelta(seconds=1)), first, "brapi", "mirror") is None


def test_missing_volume_and_extremes() -> None:
    e = quote_event(pq(last=3850, vol=None, high=3820), None, "brapi", "mirror")
    assert e is not None and e.day_volume == 0 and e.high_cents == 3850  # last above the reported high


def test_simulated_mode_sets_only_the_opening_reference() -> None:
    opening = quote_event(pq(), None, "synthetic", "simulated")
    assert opening is not None and opening.mode == "simulated"
    assert opening.reference_cents == opening.last_cents == 3800 and opening.day_volume == 0
    assert quote_event(pq(T0 + timedelta(minutes=5), 3900), opening, "synthetic", "simulated") is None
    tomorrow = quote_event(pq(T0 + timedelta(days=1), 3900, open=3890), opening, "synthetic", "simulated")
    assert tomorrow is not None and tomorrow.reference_cents == 3890


@pytest.mark.parametrize("bad", [
    ProviderQuote("PETR4", T0, 0), ProviderQuote("petr4", T0, 100), ProviderQuote("PETR4", T0.replace(tzinfo=None), 1),
    ProviderQuote("PETR4", T0, 100, high_cents=90, low_cents=95), ProviderQuote("PETR4", T0, 100, day_volume=-5)])
def test_bad_records(bad: ProviderQuote) -> None:
    with pytest.raises(BadRecord):
        quote_event(bad, None, "brapi", "mirror")


def test_should_ingest_only_around_the_session() -> None:
    assert not should_ingest(datetime(2025, 11, 17, 9, 0, tzinfo=SAO_PAULO))
    assert should_ingest(datetime(2025, 11, 17, 9, 45, tzinfo=SAO_PAULO))
    assert should_ingest(datetime(2025, 11, 17, 18, 20, tzinfo=SAO_PAULO))  # grace after the close
    assert not should_ingest(datetime(2025, 11, 17, 18, 31, tzinfo=SAO_PAULO))
    assert not should_ingest(datetime(2025, 11, 20, 12, 0, tzinfo=SAO_PAULO))  # holiday
    assert should_ingest(datetime(2025, 11, 20, 12, 0, tzinfo=SAO_PAULO), always=True)


def test_default_tickers_are_in_the_asset_seed() -> None:
    from mybroker.assets.seed import SEED
    from mybroker.market_data.domain import DEFAULT_TICKERS

    assert set(DEFAULT_TICKERS) <= {i.ticker for i in SEED}
