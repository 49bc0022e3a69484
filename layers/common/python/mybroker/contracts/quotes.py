"""The quote event on the Kafka ``quotes`` topic (key: the ticker, UTF-8), and the Redis hot cache's value.

Version 1. Prices are integer cents (R$1.23 -> 123), quantities are shares. Consumers parse with
:func:`parse_quote_event`, which refuses versions it does not know (``UnsupportedSchemaVersion``) and
ignores fields it does not know, so adding optional fields does not need a new version; removing or
changing the meaning of a field does.

Producer::

    producer.send("quotes", key=event.ticker.encode(), value=event.to_json())

Consumer::

    event = parse_quote_event(record.value)
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
TICKER_PATTERN = r"^[A-Z0-9]{4}[0-9]{1,2}F?$"

QuoteSource = Literal["synthetic", "brapi", "cotahist", "rebuild", "trade"]
MarketDataMode = Literal["mirror", "simulated"]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Cents = Annotated[int, Field(strict=True, gt=0)]


class UnsupportedSchemaVersion(ValueError):
    pass


class QuoteEvent(BaseModel):
    """The latest state of one instrument, as of ``ts``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = 1
    event_id: str = Field(description="stable per observation (ticker, ts, source): consumers dedupe on it")
    ticker: str = Field(pattern=TICKER_PATTERN, examples=["PETR4"])
    ts: UtcDatetime = Field(description="when the price was observed (UTC)")
    trading_date: date = Field(description="the B3 session date (America/Sao_Paulo)")
    last_cents: Cents = Field(description="last traded price")
    reference_cents: Cents = Field(
        description="the reference for price tunnels: the last price in mirror mode, the opening "
                    "reference in simulated mode")
    open_cents: Cents | None = None
    high_cents: Cents | None = None
    low_cents: Cents | None = None
    prev_close_cents: Cents | None = None
    day_volume: int = Field(default=0, ge=0, description="shares traded in the session so far")
    tick_volume: int = Field(default=0, ge=0, description="shares traded since the previous quote of the day")
    source: QuoteSource
    mode: MarketDataMode = "mirror"
    phase: str = Field(default="CLOSED", description="B3 session phase at ts (mybroker.b3.session.Phase)")
    trade_seq: int | None = Field(
        default=None, ge=0,
        description="simulated mode: the engine's output sequence of the last trade applied to this quote "
                    "(consumers of the trades topic skip anything at or below it)")

    @model_validator(mode="after")
    def _coherent(self) -> QuoteEvent:
        if self.high_cents is not None and self.low_cents is not None and self.high_cents < self.low_cents:
            raise ValueError("high_cents below low_cents")
        if self.tick_volume > self.day_volume:
            raise ValueError("tick_volume above day_volume")
        return self

    @property
    def change_cents(self) -> int | None:
        return None if self.prev_close_cents is None else self.last_cents - self.prev_close_cents

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @staticmethod
    def make_id(ticker: str, ts: datetime, source: str) -> str:
        return f"{ticker}:{int(ts.timestamp() * 1000)}:{source}"


def parse_quote_event(data: bytes | str | dict[str, Any]) -> QuoteEvent:
    """A quote event from JSON (bytes/str) or a decoded dict; raises ``UnsupportedSchemaVersion`` for a
    version this code does not know and ``pydantic.ValidationError`` for an invalid payload."""
    raw: Any = json.loads(data) if isinstance(data, bytes | str) else data
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise UnsupportedSchemaVersion(
            f"quote event schema_version {version!r} (this code reads {SCHEMA_VERSION})")
    return QuoteEvent.model_validate(raw)
