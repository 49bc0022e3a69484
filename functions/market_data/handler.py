"""market-data-api: latest quotes, OHLCV history and the B3 session status over HTTP.

Thin: validate, read the Redis hot cache (falling back to MongoDB), shape the answer.
Prices are integer cents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.b3.calendar import next_business_day
from mybroker.b3.session import DaySchedule, Phase, day_schedule, local, next_change, phase_at, variant_for
from mybroker.clock import SystemClock
from mybroker.contracts.api import Camel
from mybroker.contracts.exchange import BOOK_KEY, BookSnapshot
from mybroker.contracts.quotes import QuoteEvent
from mybroker.contracts.requests import IsoDateTime, QueryInt, TickerText
from mybroker.http import DomainError, NotFound, error_response, principal, resolver
from mybroker.market_data import config
from mybroker.market_data.cache import QuoteCache
from mybroker.market_data.domain import Bar, Interval, parse_tickers, valid_ticker
from mybroker.market_data.storage import MongoQuoteStore
from pydantic import Field

logger = Logger()
app = resolver("My Broker B3: market data", "/docs/market-data")
MAX_TICKERS = 50
NEXT_TRADING_DAYS = 5  # D+1 .. D+5: settlement is D+2, a holiday week pushes it out
DEFAULT_WINDOW: dict[str, timedelta] = {"1m": timedelta(days=1), "5m": timedelta(days=5),
                                        "1h": timedelta(days=30), "1d": timedelta(days=365)}


@cache
def quote_cache() -> QuoteCache:
    return config.quote_cache()


@cache
def store() -> MongoQuoteStore:
    return config.store()


class InvalidField(DomainError):
    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("VALIDATION_ERROR", f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _invalid_field(exc: InvalidField) -> Response[str]:
    return error_response(422, exc.code, exc.message, errors=[{"field": exc.field, "reason": exc.reason}])


def _unexpected(exc: Exception) -> Response[str]:
    """Anything unforeseen (a store or cache outage): a 503 with the usual error shape, never a 500."""
    logger.exception("market-data-api failed")
    return error_response(503, "UNAVAILABLE", "market data is unavailable right now; try again")


app.exception_handler(InvalidField)(_invalid_field)
app.exception_handler(Exception)(_unexpected)


class QuoteView(Camel):
    """The latest state of one instrument: the ``quotes`` topic's :class:`QuoteEvent`, in camelCase."""

    ticker: str
    ts: datetime
    trading_date: date
    last_cents: int
    reference_cents: int = Field(description="the reference for price tunnels")
    open_cents: int | None = None
    high_cents: int | None = None
    low_cents: int | None = None
    prev_close_cents: int | None = None
    day_volume: int = 0
    tick_volume: int = 0
    source: str
    mode: str
    phase: str

    @classmethod
    def of(cls, q: QuoteEvent) -> QuoteView:
        return cls.model_validate(q.model_dump(include=set(cls.model_fields)))


class QuotesPage(Camel):
    quotes: list[QuoteView]
    missing: list[str]


class BarView(Camel):
    start: datetime
    open_cents: int
    high_cents: int
    low_cents: int
    close_cents: int
    volume: int
    trades: int
    notional_cents: int

    @classmethod
    def of(cls, b: Bar) -> BarView:
        return cls(start=b.start, open_cents=b.open_cents, high_cents=b.high_cents, low_cents=b.low_cents,
                   close_cents=b.close_cents, volume=b.volume, trades=b.trades,
                   notional_cents=b.notional_cents)


class History(Camel):
    ticker: str
    interval: Interval
    start: datetime
    end: datetime
    bars: list[BarView]


class WindowView(Camel):
    phase: Phase
    start: datetime
    end: datetime


class MarketStatus(Camel):
    now: datetime
    phase: Phase
    trading_day: bool
    variant: Literal["us-standard", "us-daylight"]
    next_change_at: datetime
    next_phase: Phase
    windows: list[WindowView]
    # B3's calendar ahead (holidays skipped), for D+n labels: the first is D+1
    next_trading_days: list[date] = Field(default_factory=list)


class PriceLevelView(Camel):
    price_cents: int
    quantity: int
    orders: int


class BookView(Camel):
    """The engine's book snapshot (``engine:book:<ticker>`` in Redis), in camelCase."""

    instrument: str
    seq: int
    phase: str
    reference_price_cents: int
    last_price_cents: int
    bids: list[PriceLevelView] = Field(description="best first, ten levels at most")
    asks: list[PriceLevelView] = Field(description="best first, ten levels at most")

    @classmethod
    def of(cls, b: BookSnapshot) -> BookView:
        return cls.model_validate(b.model_dump(include=set(cls.model_fields)))


def _ticker(text: str) -> str:
    t = text.strip().upper()
    if not valid_ticker(t):
        raise InvalidField("ticker", "not a B3 ticker (4 letters/digits + 1-2 digits, e.g. PETR4)")
    return t


def _latest(ticker: str) -> QuoteEvent | None:
    return quote_cache().latest(ticker) or store().latest_quote(ticker)


@cache
def system_clock() -> SystemClock:
    """The system's clock (simulated locally through Redis, wall time on AWS)."""
    return SystemClock(quote_cache().redis)


def _now() -> datetime:
    return system_clock().now()


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else local(t).astimezone(UTC)


@app.get("/quotes")
def quotes(
    tickers: Annotated[str, Query(min_length=1, max_length=600,
                                  description="comma-separated, e.g. PETR4,VALE3")],
) -> QuotesPage:
    principal(app)
    try:
        names = parse_tickers(tickers, ())
    except ValueError as exc:
        raise InvalidField("tickers", str(exc)) from None
    if not names:
        raise InvalidField("tickers", "at least one ticker")
    if len(names) > MAX_TICKERS:
        raise InvalidField("tickers", f"at most {MAX_TICKERS} tickers")
    found = quote_cache().latest_many(names)
    for t in names:
        if t not in found:
            q = store().latest_quote(t)
            if q is not None:
                found[t] = q
    return QuotesPage(quotes=[QuoteView.of(found[t]) for t in names if t in found],
                      missing=[t for t in names if t not in found])


@app.get("/quotes/<ticker>")
def quote(ticker: Annotated[TickerText, Path()]) -> QuoteView:
    principal(app)
    t = _ticker(ticker)
    q = _latest(t)
    if q is None:
        raise NotFound("UNKNOWN_INSTRUMENT", f"no quotes for {t}")
    return QuoteView.of(q)


@app.get("/quotes/<ticker>/history")
def history(
    ticker: Annotated[TickerText, Path()],
    interval: Annotated[Interval, Query(description="bar size")] = "1d",
    start: Annotated[IsoDateTime | None, Query(description="ISO 8601; naive = São Paulo time")] = None,
    end: Annotated[IsoDateTime | None, Query(description="ISO 8601, exclusive; default now")] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=5000)] = 1000,
) -> History:
    principal(app)
    t = _ticker(ticker)
    end_ = _aware(end) or _now()
    start_ = _aware(start) or end_ - DEFAULT_WINDOW[interval]
    if start_ >= end_:
        raise InvalidField("start", "must be before end")
    bars = store().bars(t, interval, start_, end_, limit)
    if not bars and quote_cache().latest(t) is None and not store().known(t):
        raise NotFound("UNKNOWN_INSTRUMENT", f"no quotes for {t}")
    return History(ticker=t, interval=interval, start=start_, end=end_, bars=[BarView.of(b) for b in bars])


def _windows(s: DaySchedule | None) -> list[WindowView]:
    return [] if s is None else [WindowView(phase=w.phase, start=w.start, end=w.end) for w in s.windows]


@app.get("/market/status")
def market_status(
    at: Annotated[IsoDateTime | None, Query(description="instant to ask about (default now)")] = None,
) -> MarketStatus:
    principal(app)
    now = local(_aware(at) or _now())
    sched = day_schedule(now.date())
    change_at, next_phase = next_change(now)
    ahead = [next_business_day(now.date())]
    while len(ahead) < NEXT_TRADING_DAYS:
        ahead.append(next_business_day(ahead[-1]))
    return MarketStatus(now=now, phase=phase_at(now), trading_day=sched is not None,
                        variant=variant_for(now.date()), next_change_at=change_at, next_phase=next_phase,
                        windows=_windows(sched), next_trading_days=ahead)


@app.get("/market/book/<ticker>")
def book(ticker: Annotated[TickerText, Path()]) -> BookView:
    """The exchange's book of a ticker (``PETR4`` or the fractional ``PETR4F``): phase, reference and last
    price, and the ten best aggregated price levels a side, as the engine last published it."""
    principal(app)
    t = ticker.strip().upper()
    if not valid_ticker(t):
        raise InvalidField("ticker", "a B3 ticker such as PETR4 or PETR4F")
    raw = quote_cache().redis.get(BOOK_KEY.format(instrument=t))
    if raw is None:
        raise NotFound("UNKNOWN_INSTRUMENT", f"the exchange has no book for {t}")
    return BookView.of(BookSnapshot.model_validate_json(raw))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
