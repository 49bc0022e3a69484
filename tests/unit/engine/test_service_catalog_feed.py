"""Between the catalog's events and the engine: the translation, the version, the journal's command ids, and
the service state that carries the feed's positions (snapshots from before it included)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

from mybroker.contracts.assets import AssetEvent, AssetEventType, InstrumentState

from engine_service import catalog
from engine_service.core import CatalogUpdate
from engine_service.service import ServiceState


def asset_event(ticker: str = "ZNEW3", status: str = "ACTIVE", key: str | None = None) -> AssetEvent:
    return AssetEvent(event_id="e1", event_type=AssetEventType.CREATED, ticker=key or ticker,
                      occurred_at=datetime(2026, 11, 16, 13, 0, 0, 123456, tzinfo=UTC),
                      instrument=InstrumentState(ticker=ticker, name="New ON", isin="BRZNEWACNOR0", kind="SHARE_ON",
                                                 round_lot=10, tick_size_cents=5, status=status,
                                                 rejection_tunnel_pct=8, auction_tunnel_pct=4))


def test_an_event_becomes_the_instrument_as_the_catalog_lists_it() -> None:
    update = catalog.to_update(asset_event())
    assert update == CatalogUpdate("ZNEW3", 10, 5, 800, 400, True, 1_794_834_000_123_456_000)
    suspended = catalog.to_update(asset_event(status="SUSPENDED"))
    assert suspended is not None and suspended.active is False
    assert catalog.to_update(asset_event(key="OTHR3")) is None  # key and instrument disagree
    assert catalog.to_update(asset_event("ZNEW3F")) is None  # not a B3 ticker (a fractional one is not listed)


def test_versions_follow_occurred_at_in_any_time_zone() -> None:
    at = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)
    later = at + timedelta(microseconds=1)
    assert catalog.version_ns(later) - catalog.version_ns(at) == 1000
    assert catalog.version_ns(at.astimezone(timezone(timedelta(hours=-3)))) == catalog.version_ns(at)


def test_catalog_command_ids_carry_the_position_not_a_dedupe_entry() -> None:
    state = ServiceState()
    state.remember(catalog.command_id(1, 41))
    state.remember(catalog.command_id(0, 7))
    state.remember(catalog.command_id(1, 42))
    state.remember("0f6c-order:new")
    assert state.catalog_positions == {0: 8, 1: 43}
    assert list(state.seen_commands) == ["0f6c-order:new"]
    assert catalog.position_of("catalog:x:1") is None and catalog.position_of("order:new") is None


def test_a_state_pickled_before_the_feed_loads_with_no_positions() -> None:
    old = ServiceState()
    del old.__dict__["catalog_positions"]  # what a snapshot of the previous version holds
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.catalog_positions == {} and loaded.order_ids == {}
