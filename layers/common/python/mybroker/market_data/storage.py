"""Ticks and OHLCV bars in MongoDB (FerretDB locally, MongoDB/Atlas on AWS), through pymongo only.

Collections (names get an optional prefix, so tests use their own):

- ``ticks``: one document per observation, ``_id = "<TICKER>|<epoch ms>"``; prices in integer cents.
  On a server with time-series collections (MongoDB 5+) ``ticks`` is one (timeField ``ts``, metaField
  ``ticker``) and duplicates are filtered by a lookup before the insert; FerretDB has none, so it is a
  regular collection with the unique ``_id`` deciding. ``MongoQuoteStore.tick_storage`` says which.
- ``bars``: ``_id = "<TICKER>|<interval>|<start epoch s>"``, fields ``ticker interval start open high low
  close volume trades notional last_ts source``; a unique index on ``(ticker, interval, start)`` makes a history
  query an index range scan.

Bars stay current as ticks arrive. The new ticks of a batch are folded in memory into one update per bar,
with operators every server supports, filtered on ``_id`` alone: ``$setOnInsert`` the open, ``$max`` high
and ``last_ts``, ``$min`` low, ``$set`` close, ``$inc`` volume/trades/notional, upserted.

Only ticks whose insert succeeded just now (the unique ``_id`` refuses a re-ingested or redelivered one)
move the bars, so volume is never counted twice. A tick older than the newest one already in its day bar
(``last_ts``) is late: kept in ``ticks`` but not applied; the ingest and the engine's trades arrive in
time order per ticker, so this only drops genuinely late data.
No transactions, no aggregation accumulators, no TTL indexes, no Decimal128.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, OperationFailure

from mybroker.b3.session import local, phase_at
from mybroker.contracts.quotes import QuoteEvent
from mybroker.market_data.domain import INTERVALS, Bar, Interval, Tick, bar_id, bucket_start

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TickStorage = Literal["timeseries", "regular"]
Doc = dict[str, Any]


@dataclass(frozen=True)
class RecordResult:
    new_ticks: int
    duplicate_ticks: int
    bar_updates: int  # bars written (each bar once per batch, however many of its ticks arrived)


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    modified: int
    unchanged: int


class QuoteStore(Protocol):
    """What market data needs from a history store; one contract test suite runs against each."""

    def ensure_schema(self) -> None: ...
    def record_ticks(self, ticks: Sequence[Tick]) -> RecordResult: ...
    def upsert_bars(self, bars: Sequence[Bar], refresh: bool = False) -> UpsertResult: ...
    def bars(self, ticker: str, interval: Interval, start: datetime, end: datetime,
             limit: int = 1000) -> list[Bar]: ...
    def known(self, ticker: str) -> bool: ...
    def latest_quotes(self, tickers: Iterable[str] | None = None) -> list[QuoteEvent]: ...


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _same(have: Any, want: Any) -> bool:
    if isinstance(have, datetime) and isinstance(want, datetime):
        return _aware(have) == _aware(want)
    return bool(have == want)


class _Fold:
    """The ticks of one batch that fall in one bar, as the single update that applies them all."""

    def __init__(self, first: Tick, interval: Interval) -> None:
        self.ticker, self.interval, self.start = first.ticker, interval, bucket_start(first.ts, interval)
        self.open, self.open_ts = first.price_cents, first.ts
        self.high = self.low = self.close = first.price_cents
        self.last_ts = first.ts
        self.volume, self.trades, self.notional = first.quantity, 1, first.price_cents * first.quantity

    def add(self, t: Tick) -> None:
        self.high, self.low, self.close = max(self.high, t.price_cents), min(self.low, t.price_cents), t.price_cents
        self.last_ts = t.ts
        self.volume += t.quantity
        self.trades += 1
        self.notional += t.price_cents * t.quantity

    def update(self) -> Doc:
        return {"$setOnInsert": {"ticker": self.ticker, "interval": self.interval, "start": self.start,
                                 "open": self.open, "open_ts": self.open_ts, "source": "ticks"},
                "$max": {"high": self.high, "last_ts": self.last_ts}, "$min": {"low": self.low},
                "$set": {"close": self.close},
                "$inc": {"volume": self.volume, "trades": self.trades, "notional": self.notional}}


class MongoQuoteStore:
    def __init__(self, db: Database[Doc], prefix: str = "") -> None:
        self.db = db
        self.ticks = db[f"{prefix}ticks"]
        self.bars_collection = db[f"{prefix}bars"]
        self._tick_name = f"{prefix}ticks"
        self.tick_storage: TickStorage = "regular"
        self._ready = False

    # --- schema -------------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create collections and indexes (idempotent; cheap after the first call in a process)."""
        if self._ready:
            return
        existing = self.db.list_collection_names()
        if self._tick_name in existing:
            info = next(iter(self.db.list_collections(filter={"name": self._tick_name})), {})
            self.tick_storage = "timeseries" if info.get("type") == "timeseries" else "regular"
        else:
            try:
                self.db.create_collection(self._tick_name, timeseries={
                    "timeField": "ts", "metaField": "ticker", "granularity": "seconds"})
                self.tick_storage = "timeseries"
            except OperationFailure:
                self.tick_storage = "regular"  # FerretDB: "timeseries ... is not implemented"
        self.ticks.create_index([("ticker", ASCENDING), ("ts", ASCENDING)], name="ticker_ts")
        key = [("ticker", ASCENDING), ("interval", ASCENDING), ("start", ASCENDING)]
        self.bars_collection.create_index(key, name="ticker_interval_start", unique=True)
        self._ready = True

    # --- writes -------------------------------------------------------------------------------------
    def record_ticks(self, ticks: Sequence[Tick]) -> RecordResult:
        """Store ticks (duplicates ignored) and fold every one of them into its 1m/5m/1h/1d bars."""
        self.ensure_schema()
        if not ticks:
            return RecordResult(0, 0, 0)
        ordered = sorted(ticks, key=lambda t: (t.ts, t.ticker))
        fresh = self._insert_ticks(ordered)
        # only ticks stored just now move the bars: a re-ingested tick is a duplicate key and changes nothing
        applied = self._apply_to_bars(fresh) if fresh else 0
        return RecordResult(len(fresh), len(ordered) - len(fresh), applied)

    def _tick_doc(self, t: Tick) -> Doc:
        return {"ticker": t.ticker, "ts": t.ts, "price": t.price_cents, "qty": t.quantity, "source": t.source,
                "key": t.id}

    def _insert_ticks(self, ticks: Sequence[Tick]) -> list[Tick]:
        """Stores the ticks not seen before and returns them (the unique ``_id`` refuses the others)."""
        unique = list({t.id: t for t in ticks}.values())
        if self.tick_storage == "timeseries":
            # no unique index on a time-series collection: look the keys up first (trades share instants)
            seen = {doc.get("key") for doc in self.ticks.find(
                {"ticker": {"$in": sorted({t.ticker for t in unique})},
                 "ts": {"$gte": min(t.ts for t in unique), "$lte": max(t.ts for t in unique)}}, {"key": 1})}
            fresh = [t for t in unique if t.id not in seen]
            if fresh:
                self.ticks.insert_many([self._tick_doc(t) for t in fresh], ordered=False)
            return fresh
        try:
            self.ticks.insert_many([{"_id": t.id, **self._tick_doc(t)} for t in unique], ordered=False)
        except BulkWriteError as exc:  # the unique _id refuses ticks already stored
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            refused = {e["index"] for e in errors}
            return [t for i, t in enumerate(unique) if i not in refused]
        return unique

    def _apply_to_bars(self, ticks: Sequence[Tick]) -> int:
        """Folds new ticks into their bars and returns how many bars were written. A tick older than what its
        day bar already holds (``last_ts``) is late: kept in ``ticks`` but not applied, so bars stay consistent
        with time order. Ticks at the same instant (one aggressor printing several trades) all count."""
        last: dict[tuple[str, datetime], datetime] = {}
        folded: dict[str, _Fold] = {}
        for t in ticks:  # sorted by time, stable: same-instant trades keep their sequence
            day = bucket_start(t.ts, "1d")
            if (t.ticker, day) not in last:
                doc = self.bars_collection.find_one({"_id": bar_id(t.ticker, "1d", day)}, {"last_ts": 1})
                last[(t.ticker, day)] = _aware(doc["last_ts"]) if doc and doc.get("last_ts") else EPOCH
            if t.ts < last[(t.ticker, day)]:
                continue
            last[(t.ticker, day)] = t.ts
            for interval in INTERVALS:
                key = bar_id(t.ticker, interval, bucket_start(t.ts, interval))
                fold = folded.get(key)
                if fold is None:
                    folded[key] = _Fold(t, interval)
                else:
                    fold.add(t)
        if not folded:
            return 0
        # one upsert per bar, filtered on ``_id`` alone: FerretDB/SQLite looks up an ``_id`` directly but scans
        # the collection for any other filter; each bar appears once, so the order of the bulk does not matter
        ops = [UpdateOne({"_id": key}, f.update(), upsert=True) for key, f in folded.items()]
        result = self.bars_collection.bulk_write(ops, ordered=False)
        return result.modified_count + result.upserted_count

    def upsert_bars(self, bars: Sequence[Bar], refresh: bool = False) -> UpsertResult:
        """Write whole bars (COTAHIST days), keyed by ticker+interval+start: re-importing creates nothing.

        Inserts (the fast path on every server, and the only fast one on FerretDB/SQLite, whose updates and
        non-``_id`` reads cost grows with the collection); a key that already exists is left alone, unless
        ``refresh``: then the existing bars are read back in one ``$in`` query and those that differ are
        rewritten (for a corrected file)."""
        self.ensure_schema()
        if not bars:
            return UpsertResult(0, 0, 0)
        docs: dict[str, Doc] = {}
        for b in bars:  # the last one wins when a batch repeats a key
            docs[b.id] = {"_id": b.id, "ticker": b.ticker, "interval": b.interval, "start": b.start,
                          "open": b.open_cents, "high": b.high_cents, "low": b.low_cents, "close": b.close_cents,
                          "volume": b.volume, "trades": b.trades, "notional": b.notional_cents, "source": b.source,
                          "last_ts": b.start + timedelta(days=1) - timedelta(milliseconds=1), **b.extra}
        duplicates: list[str] = []
        try:
            self.bars_collection.insert_many(list(docs.values()), ordered=False)
        except BulkWriteError as exc:
            for err in exc.details.get("writeErrors", []):
                if err.get("code") != 11000:
                    raise
                duplicates.append(str(err.get("op", {}).get("_id") or list(docs)[err["index"]]))
        changed: list[UpdateOne] = []
        if duplicates and refresh:
            existing = {d["_id"]: d for d in self.bars_collection.find({"_id": {"$in": duplicates}})}
            for key in duplicates:
                want = docs[key]
                have = existing.get(key, {})
                if any(_same(have.get(k), v) is False for k, v in want.items() if k != "_id"):
                    changed.append(UpdateOne({"_id": key}, {"$set": {k: v for k, v in want.items() if k != "_id"}}))
        if changed:
            self.bars_collection.bulk_write(changed, ordered=False)
        inserted = len(docs) - len(duplicates)
        return UpsertResult(inserted, len(changed), len(duplicates) - len(changed))

    # --- reads --------------------------------------------------------------------------------------
    def bars(self, ticker: str, interval: Interval, start: datetime, end: datetime,
             limit: int = 1000) -> list[Bar]:
        """Bars whose start is in ``[start, end)``, oldest first, at most ``limit``."""
        cursor = self.bars_collection.find(
            {"ticker": ticker, "interval": interval, "start": {"$gte": start, "$lt": end}},
        ).sort("start", ASCENDING).limit(limit)
        return [self._bar(d) for d in cursor]

    @staticmethod
    def _bar(d: Doc) -> Bar:
        return Bar(ticker=d["ticker"], interval=d["interval"], start=_aware(d["start"]),
                   open_cents=int(d["open"]), high_cents=int(d["high"]), low_cents=int(d["low"]),
                   close_cents=int(d["close"]),
                   volume=int(d.get("volume", 0)), trades=int(d.get("trades", 0)),
                   notional_cents=int(d.get("notional", 0)), source=str(d.get("source", "ticks")))

    def known(self, ticker: str) -> bool:
        return self.bars_collection.find_one({"ticker": ticker}, {"_id": 1}) is not None

    def tickers(self) -> list[str]:
        return sorted(str(t) for t in self.bars_collection.distinct("ticker", {"interval": "1d"}))

    def latest_quote(self, ticker: str) -> QuoteEvent | None:
        """The newest known state of ``ticker`` rebuilt from its last two daily bars (for the cache)."""
        days = list(self.bars_collection.find({"ticker": ticker, "interval": "1d"})
                    .sort("start", DESCENDING).limit(2))
        if not days:
            return None
        today = self._bar(days[0])
        last_ts = _aware(days[0].get("last_ts") or today.start)
        prev_close = self._bar(days[1]).close_cents if len(days) > 1 else None
        ts = max(last_ts, today.start)
        return QuoteEvent(event_id=QuoteEvent.make_id(ticker, ts, "rebuild"), ticker=ticker, ts=ts,
                          trading_date=local(today.start).date(), last_cents=today.close_cents,
                          reference_cents=today.close_cents, open_cents=today.open_cents,
                          high_cents=today.high_cents, low_cents=today.low_cents, prev_close_cents=prev_close,
                          day_volume=today.volume, tick_volume=0, source="rebuild", phase=phase_at(ts).value)

    def latest_quotes(self, tickers: Iterable[str] | None = None) -> list[QuoteEvent]:
        names = list(tickers) if tickers is not None else self.tickers()
        return [q for q in (self.latest_quote(t) for t in names) if q is not None]
