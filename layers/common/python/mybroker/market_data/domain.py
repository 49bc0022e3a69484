"""Market-data domain: provider quotes, ticks, OHLCV bars and the rules that turn one into the other.

Everything here is plain Python with integer cents and shares; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args

from mybroker.b3.session import SAO_PAULO, Phase, day_schedule, local, phase_at
from mybroker.contracts.exchange import TradeEvent
from mybroker.contracts.quotes import MarketDataMode, QuoteEvent, QuoteSource

Interval = Literal["1m", "5m", "1h", "1d"]
INTERVALS: tuple[Interval, ...] = get_args(Interval)
_SECONDS: dict[str, int] = {"1m": 60, "5m": 300, "1h": 3600}
TICKER_RE = re.compile(r"^[A-Z0-9]{4}[0-9]{1,2}F?$")
DEFAULT_TICKERS: tuple[str, ...] = (
    "PETR4", "VALE3", "ITUB4", "BBDC4", "BBAS3", "ABEV3", "WEGE3", "B3SA3", "BOVA11", "HGLG11",
)
# How long after the closing call the ingest keeps polling, to catch the closing print.
CLOSE_GRACE = timedelta(minutes=30)


class BadRecord(ValueError):
    """A quote that cannot be used (missing or absurd fields): reported and skipped, never fatal."""


def valid_ticker(text: str) -> bool:
    return bool(TICKER_RE.fullmatch(text))


def parse_tickers(text: str | None, default: Iterable[str] = DEFAULT_TICKERS) -> tuple[str, ...]:
    """``"petr4, VALE3"`` -> ``("PETR4", "VALE3")``; duplicates dropped, order kept."""
    if not text or not text.strip():
        return tuple(default)
    out: dict[str, None] = {}
    for part in text.split(","):
        t = part.strip().upper()
        if t:
            if not valid_ticker(t):
                raise ValueError(f"not a B3 ticker: {t!r}")
            out[t] = None
    return tuple(out)


def to_cents(value: float | int | str | None) -> int | None:
    """Reais (as providers give them) to integer cents, rounding half up; None if missing or not positive."""
    if value is None or isinstance(value, bool):
        return None
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    try:
        cents = int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None
    return cents if cents > 0 else None


@dataclass(frozen=True)
class ProviderQuote:
    """What a provider knows about one ticker at ``ts`` (prices in cents, volume in shares)."""

    ticker: str
    ts: datetime  # aware
    last_cents: int
    open_cents: int | None = None
    high_cents: int | None = None
    low_cents: int | None = None
    prev_close_cents: int | None = None
    day_volume: int | None = None  # cumulative for the session; None when the provider does not say

    def check(self) -> None:
        if not valid_ticker(self.ticker):
            raise BadRecord(f"bad ticker {self.ticker!r}")
        if self.ts.tzinfo is None:
            raise BadRecord(f"{self.ticker}: naive timestamp")
        for name in ("last_cents", "open_cents", "high_cents", "low_cents", "prev_close_cents"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
                raise BadRecord(f"{self.ticker}: {name}={v!r}")
        if self.day_volume is not None and self.day_volume < 0:
            raise BadRecord(f"{self.ticker}: negative volume")
        if self.high_cents is not None and self.low_cents is not None and self.high_cents < self.low_cents:
            raise BadRecord(f"{self.ticker}: high below low")


@dataclass(frozen=True)
class Tick:
    """One observation applied to bars: the price at ``ts`` and the shares traded since the previous one.

    A feed quote is identified by its ticker and millisecond; an engine trade by its trade id (``trade_id``),
    since one aggressor can print several trades in the same instant."""

    ticker: str
    ts: datetime  # aware UTC
    price_cents: int
    quantity: int
    source: str
    trade_id: int | None = None

    @property
    def id(self) -> str:
        if self.trade_id is not None:
            return f"{self.ticker}|T{self.trade_id}"
        return f"{self.ticker}|{int(self.ts.timestamp() * 1000)}"


@dataclass
class Bar:
    ticker: str
    interval: Interval
    start: datetime  # aware UTC
    open_cents: int
    high_cents: int
    low_cents: int
    close_cents: int
    volume: int = 0  # shares
    trades: int = 0  # ticks (or trades, for COTAHIST) in the bar
    notional_cents: int = 0
    source: str = "ticks"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return bar_id(self.ticker, self.interval, self.start)


def bar_id(ticker: str, interval: str, start: datetime) -> str:
    return f"{ticker}|{interval}|{int(start.timestamp())}"


def bucket_start(ts: datetime, interval: Interval) -> datetime:
    """Start (UTC) of the ``interval`` bar containing ``ts``. Daily bars start at midnight São Paulo time."""
    if interval == "1d":
        return day_start(local(ts).date())
    step = _SECONDS[interval]
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC)


def day_start(d: date) -> datetime:
    """Midnight São Paulo time of session date ``d``, in UTC: the ``start`` of its daily bar."""
    return datetime.combine(d, time(0, 0), SAO_PAULO).astimezone(UTC)


def should_ingest(now: datetime, always: bool = False) -> bool:
    """Poll the feed from the pre-opening to 30 minutes after the last trading phase of a business day."""
    if always:
        return True
    sched = day_schedule(local(now).date())
    if sched is None:
        return False
    trading = [w for w in sched.windows if w.phase.trades]
    return trading[0].start <= now < trading[-1].end + CLOSE_GRACE


def quote_event(q: ProviderQuote, previous: QuoteEvent | None, source: QuoteSource,
                mode: MarketDataMode) -> QuoteEvent | None:
    """The event for provider quote ``q`` given the last event for the ticker (from the hot cache).

    - An older observation than ``previous`` is stale: None.
    - The same observation again (a retried ingest, or a provider that has not moved) gives back the very same
      event, so storage, cache and Kafka see an identical, idempotent write.
    - mirror: last and reference follow the feed; ``tick_volume`` is the growth of the cumulative day volume.
    - simulated: the feed only sets the opening reference, once per session date; later quotes of the same
      date are ignored (trades from the engine move the last price). None when ignored.
    """
    q.check()
    ts = q.ts.astimezone(UTC)
    session_date = local(ts).date()
    same_day = previous is not None and previous.trading_date == session_date
    if previous is not None and previous.ts > ts:
        return None
    if previous is not None and previous.ts == ts and previous.source == source:
        return previous
    if mode == "simulated" and same_day:
        return None
    if mode == "simulated":
        prev_close = q.prev_close_cents or (previous.last_cents if previous is not None else None)
        reference = q.open_cents or q.last_cents
        return QuoteEvent(event_id=QuoteEvent.make_id(q.ticker, ts, source), ticker=q.ticker, ts=ts,
                          trading_date=session_date, last_cents=reference, reference_cents=reference,
                          open_cents=reference, high_cents=reference, low_cents=reference,
                          prev_close_cents=prev_close, day_volume=0, tick_volume=0, source=source,
                          mode="simulated", phase=phase_at(ts).value)
    day_volume = q.day_volume
    if day_volume is None:
        day_volume = previous.day_volume if same_day and previous is not None else 0
    prev_day_volume = previous.day_volume if same_day and previous is not None else 0
    tick_volume = max(0, day_volume - prev_day_volume)
    high = max(x for x in (q.high_cents, q.last_cents) if x is not None)
    low = min(x for x in (q.low_cents, q.last_cents) if x is not None)
    prev_close = q.prev_close_cents
    if prev_close is None and previous is not None:
        prev_close = previous.prev_close_cents if same_day else previous.last_cents
    return QuoteEvent(event_id=QuoteEvent.make_id(q.ticker, ts, source), ticker=q.ticker, ts=ts,
                      trading_date=session_date, last_cents=q.last_cents, reference_cents=q.last_cents,
                      open_cents=q.open_cents, high_cents=high, low_cents=low, prev_close_cents=prev_close,
                      day_volume=day_volume, tick_volume=tick_volume, source=source, mode="mirror",
                      phase=phase_at(ts).value)


def trade_time(trade: TradeEvent) -> datetime:
    return datetime.fromtimestamp(trade.ts_ns // 1000 / 1_000_000, UTC)


def trade_quote(previous: QuoteEvent | None, trades: Sequence[TradeEvent]) -> tuple[QuoteEvent | None, list[Tick]]:
    """Simulated mode: the quote of one instrument after the engine's ``trades`` (its own, in sequence order),
    and the ticks of the trades that were new. ``(None, [])`` when nothing was new.

    - A trade at or below the quote's ``trade_seq`` on the same session date was applied already (a
      redelivered batch): skipped. A trade of an earlier session date than the quote is stale: skipped.
    - The first trade of a session date opens the day (prev close = the last price before it); the opening
      reference the feed gave for that date stays the tunnel reference for the rest of the day.
    """
    current = previous
    ticks: list[Tick] = []
    batch_volume = 0  # the quote's tick_volume: shares traded since the quote before this call
    for trade in trades:
        ts = trade_time(trade)
        session_date = local(ts).date()
        if current is not None:
            if session_date < current.trading_date:
                continue
            same_day = session_date == current.trading_date
            if same_day and current.trade_seq is not None and trade.seq <= current.trade_seq:
                continue
        else:
            same_day = False
        price, qty = trade.price_cents, trade.quantity
        ticks.append(Tick(trade.instrument, ts, price, qty, "trade", trade_id=trade.trade_id))
        at = max(ts, current.ts) if current is not None else ts
        if current is not None and same_day:
            batch_volume += qty
            current = current.model_copy(update={
                "event_id": f"{trade.instrument}:trade:{trade.seq}", "ts": at, "last_cents": price,
                "open_cents": current.open_cents or price,
                "high_cents": max(current.high_cents or price, price),
                "low_cents": min(current.low_cents or price, price),
                "day_volume": current.day_volume + qty, "tick_volume": batch_volume, "source": "trade",
                "mode": "simulated", "phase": phase_at(at).value, "trade_seq": trade.seq})
        else:
            batch_volume = qty
            current = QuoteEvent(
                event_id=f"{trade.instrument}:trade:{trade.seq}", ticker=trade.instrument, ts=at,
                trading_date=session_date, last_cents=price, reference_cents=price, open_cents=price,
                high_cents=price, low_cents=price,
                prev_close_cents=current.last_cents if current is not None else None,
                day_volume=qty, tick_volume=qty, source="trade", mode="simulated", phase=phase_at(at).value,
                trade_seq=trade.seq)
    return (current, ticks) if ticks else (None, [])


def tick_of(event: QuoteEvent) -> Tick:
    return Tick(event.ticker, event.ts, event.last_cents, event.tick_volume, event.source)


def is_trading(phase: str) -> bool:
    try:
        return Phase(phase).trades
    except ValueError:
        return False
