"""The versioned quote event shared with consumers of the ``quotes`` topic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from mybroker.contracts.quotes import QuoteEvent, UnsupportedSchemaVersion, parse_quote_event
from pydantic import ValidationError

TS = datetime(2025, 11, 17, 14, 0, tzinfo=UTC)


def event(**over: object) -> QuoteEvent:
    fields: dict[str, object] = dict(event_id="PETR4:1:synthetic", ticker="PETR4", ts=TS,
                                     trading_date=date(2025, 11, 17),
                                     last_cents=3812, reference_cents=3812, open_cents=3800, high_cents=3820,
                                     low_cents=3790, prev_close_cents=3795, day_volume=1000, tick_volume=100,
                                     source="synthetic", phase="CONTINUOUS")
    fields.update(over)
    return QuoteEvent.model_validate(fields)


def test_round_trip_json() -> None:
    e = event()
    again = parse_quote_event(e.to_json())
    assert again == e and again.schema_version == 1 and again.change_cents == 17
    raw = json.loads(e.to_json())
    assert raw["last_cents"] == 3812 and isinstance(raw["last_cents"], int)


def test_timestamps_normalised_to_utc_and_naive_refused() -> None:
    assert event(ts=datetime(2025, 11, 17, 11, 0, tzinfo=timezone(timedelta(hours=-3)))).ts == TS
    with pytest.raises(ValidationError):
        event(ts=datetime(2025, 11, 17, 14, 0))


@pytest.mark.parametrize("bad", [
    {"last_cents": 38.12}, {"last_cents": 0}, {"last_cents": "3812"}, {"ticker": "petr4"}, {"ticker": "PETROBRAS"},
    {"high_cents": 3700}, {"tick_volume": 5000}, {"day_volume": -1}, {"source": "reuters"}, {"mode": "live"}])
def test_invalid_events_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        event(**bad)


def test_unknown_fields_ignored_but_unknown_versions_refused() -> None:
    raw = json.loads(event().to_json())
    raw["new_optional_field"] = 1
    assert parse_quote_event(raw).ticker == "PETR4"
    raw["schema_version"] = 2
    with pytest.raises(UnsupportedSchemaVersion):
        parse_quote_event(json.dumps(raw))
    with pytest.raises(UnsupportedSchemaVersion):
        parse_quote_event(b"[]")


def test_event_ids_are_stable() -> None:
    assert QuoteEvent.make_id("PETR4", TS, "brapi") == QuoteEvent.make_id("PETR4", TS, "brapi")
    assert QuoteEvent.make_id("PETR4", TS, "brapi") != QuoteEvent.make_id("PETR4", TS + timedelta(seconds=1), "brapi")
