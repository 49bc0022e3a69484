"""The engine facade: several order books, one session calendar, one input at a time.

``Engine.process(input) -> list[output]`` is deterministic: the same inputs (clock ticks
included; the engine never reads the wall clock) give the same outputs, byte for byte once
encoded with :mod:`engine_service.core.codec`. ``snapshot()``/``Engine.restore()`` save and load
the whole state as bytes; restoring and replaying the journal gives the uninterrupted state.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

from engine_service.core.book import IN_BOOK, IN_PENDING, IdSource, Order, OrderBook, PriceLevel
from engine_service.core.records import (
    CancelOrder,
    CatalogUpdate,
    ClockTick,
    ExecType,
    ExecutionReport,
    Halt,
    NewOrder,
    Output,
    Phase,
    Reason,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
)
from engine_service.core.schedule import SessionCalendar, date_int, local_date

SNAPSHOT_VERSION = 1
ONE_DAY = timedelta(days=1)
MAX_SYMBOL_LENGTH = 12  # what a listing may be called (B3 tickers are 5-7 characters): longer names never get a book
_tnew: Final = tuple.__new__
# Final aliases: mypyc reads them from C statics instead of the module dict.
_NEW_ORDER: Final = NewOrder
_CANCEL: Final = CancelOrder
_REPLACE: Final = ReplaceOrder


class InstrumentConfig(NamedTuple):
    """One listed instrument. With ``fractional`` the engine also opens ``<symbol>F``
    (lot 1, 1 to lot-1 shares, its own book). Tunnels are in basis points of the reference
    price (defaults unconfirmed, see docs/engine.md)."""

    symbol: str
    reference_price: int = 0
    lot: int = 100
    tick: int = 1
    rejection_tunnel_bps: int = 1000
    auction_tunnel_bps: int = 500
    volatility_auction_ns: int = 300_000_000_000
    fractional: bool = True


class Engine:
    def __init__(
        self, instruments: Iterable[InstrumentConfig], calendar: SessionCalendar | None = None
    ) -> None:
        self.instruments = tuple(instruments)
        self.calendar = calendar if calendar is not None else SessionCalendar()
        self.ids = IdSource()
        self.books: dict[str, OrderBook] = {}
        self.fractional_of: dict[str, str] = {}
        # rejects of a symbol that has no book: a book opened for it later (a listing) goes on from there, so
        # its reports never reuse a reject's exec id (the broker dedupes on instrument and exec id)
        self.unlisted_seq: dict[str, int] = {}
        for cfg in self.instruments:
            self._open_books(cfg)
        self.now = 0
        self.seq = 0  # sequence of rejects for inputs without a readable symbol
        self.next_boundary_ns = 0  # 0 = no clock tick yet
        self.next_boundary_phase = Phase.CLOSED
        self.catalog_versions: dict[str, int] = {}  # symbol -> version of the last CatalogUpdate applied
        self._next_trading: tuple[date, int] = (date.min, 0)  # (today, the next trading date): a cache

    def _open_books(self, cfg: InstrumentConfig) -> list[OrderBook]:
        """The books of ``cfg`` not open yet: the standard one and, with a round lot above 1, ``<symbol>F``."""
        opened = []
        if cfg.symbol not in self.books:
            book = self.books[cfg.symbol] = OrderBook(
                cfg.symbol, self.ids, cfg.lot, 0, cfg.tick, cfg.reference_price,
                cfg.rejection_tunnel_bps, cfg.auction_tunnel_bps, cfg.volatility_auction_ns,
            )
            book.seq = self.unlisted_seq.pop(cfg.symbol, 0)
            opened.append(book)
        fsym = cfg.symbol + "F"
        if cfg.fractional and cfg.lot > 1 and fsym not in self.books:
            book = self.books[fsym] = OrderBook(
                fsym, self.ids, 1, cfg.lot - 1, cfg.tick, self.books[cfg.symbol].reference_price,
                cfg.rejection_tunnel_bps, cfg.auction_tunnel_bps, cfg.volatility_auction_ns,
            )
            book.seq = self.unlisted_seq.pop(fsym, 0)
            self.fractional_of[cfg.symbol] = fsym
            opened.append(book)
        return opened

    # ------------------------------------------------------------ dispatch

    def process(self, msg: Any) -> list[Output]:
        """Apply one input and return its outputs in sequence order. Never raises."""
        book: OrderBook | None = None
        mark = 0
        try:
            t = type(msg)
            if t is _NEW_ORDER:
                book = self.books.get(msg[0])
                if book is None:
                    return [self._reject_unknown(msg[0], 0, msg[1], Reason.UNKNOWN_INSTRUMENT)]
                mark = book.seq
                out = book.out = []
                book.new_order(msg)
                if book.touched_bids or book.touched_asks:
                    book.flush()
                return out
            if t is _CANCEL:
                book = self.books.get(msg[0])
                if book is None:
                    return [self._reject_unknown(msg[0], msg[1], msg[2], Reason.UNKNOWN_INSTRUMENT)]
                mark = book.seq
                out = book.out = []
                book.cancel(msg)
                if book.touched_bids or book.touched_asks:
                    book.flush()
                return out
            if t is _REPLACE:
                book = self.books.get(msg[0])
                if book is None:
                    return [self._reject_unknown(msg[0], msg[1], msg[2], Reason.UNKNOWN_INSTRUMENT)]
                mark = book.seq
                out = book.out = []
                book.replace(msg)
                if book.touched_bids or book.touched_asks:
                    book.flush()
                return out
            if t is ClockTick:
                return self._tick(msg.now_ns)
            if t is SetReferencePrice:
                return self._for_instrument(msg.instrument, "reference", msg.price)
            if t is Halt:
                return self._for_instrument(msg.instrument, "halt", 0)
            if t is Resume:
                return self._for_instrument(msg.instrument, "resume", 0)
            if t is CatalogUpdate:
                return self._catalog(msg)
            return [self._reject_unknown("", 0, "", Reason.INVALID_ORDER)]
        except Exception:  # the engine never raises on input
            return [self._failed(msg, book, mark)]

    def process_many(self, msgs: Iterable[Any]) -> list[Output]:
        """Apply inputs in order and return all their outputs: exactly the concatenation of what
        ``process()`` returns for each, built in one list (no list per input). Never raises."""
        result: list[Any] = []
        books = self.books
        for msg in msgs:
            t = type(msg)
            if t is _NEW_ORDER or t is _CANCEL or t is _REPLACE:
                mark = len(result)
                book = None
                seq_mark = 0
                try:
                    book = books.get(msg[0])
                    if book is None:
                        if t is _NEW_ORDER:
                            result.append(self._reject_unknown(msg[0], 0, msg[1], Reason.UNKNOWN_INSTRUMENT))
                        else:
                            result.append(self._reject_unknown(msg[0], msg[1], msg[2], Reason.UNKNOWN_INSTRUMENT))
                        continue
                    seq_mark = book.seq
                    book.out = result
                    if t is _NEW_ORDER:
                        book.new_order(msg)
                    elif t is _CANCEL:
                        book.cancel(msg)
                    else:
                        book.replace(msg)
                    if book.touched_bids or book.touched_asks:
                        book.flush()
                except Exception:  # as process(): this input's partial outputs give way to one reject
                    del result[mark:]
                    result.append(self._failed(msg, book, seq_mark))
            else:
                result.extend(self.process(msg))
        return result

    def _reject_unknown(self, instrument: Any, order_id: Any, client_order_id: Any, reason: str) -> Output:
        """A REJECTED report outside any book's own flow. Its sequence and exec id come from the instrument's
        book when there is one (so they never collide with that book's reports, whose exec id is
        ``instrument:seq`` downstream), from the symbol's own count of rejects when it has none (a book opened
        for it later goes on from there), from the engine's counter for an input without a symbol."""
        book = self.books.get(instrument) if type(instrument) is str else None
        if book is not None:
            book.seq = seq = book.seq + 1
        elif type(instrument) is str and instrument and len(instrument) <= MAX_SYMBOL_LENGTH:
            self.unlisted_seq[instrument] = seq = self.unlisted_seq.get(instrument, 0) + 1
        else:
            self.seq = seq = self.seq + 1
        return _tnew(
            ExecutionReport,
            ("EXEC", seq, instrument, seq, ExecType.REJECTED, order_id, client_order_id, "", "", "",
             "", "", 0, 0, 0, 0, 0, 0, 0, 0, reason, self.now),
        )

    def _failed(self, msg: Any, book: OrderBook | None, seq_mark: int) -> Output:
        """The one reject for an input the engine failed on: what the book had emitted for it is dropped and
        its sequence rewound, so the instrument's stream stays gapless; the ids of the request are kept when
        readable, so the broker can close the order."""
        t = type(msg)
        order_id: Any = 0
        client_order_id: Any = ""
        if t is _NEW_ORDER:
            client_order_id = msg[1]
        elif t is _CANCEL or t is _REPLACE:
            order_id, client_order_id = msg[1], msg[2]
        if type(order_id) is not int:
            order_id = 0
        if type(client_order_id) is not str:
            client_order_id = ""
        if book is not None:
            book.seq = seq_mark
            book.out = []
            return self._reject_unknown(book.symbol, order_id, client_order_id, Reason.INVALID_ORDER)
        return self._reject_unknown(str(getattr(msg, "instrument", "")), order_id, client_order_id,
                                    Reason.INVALID_ORDER)

    def _for_instrument(self, symbol: Any, action: str, price: Any) -> list[Output]:
        book = self.books.get(symbol)
        if book is None:
            return [self._reject_unknown(symbol, 0, "", Reason.UNKNOWN_INSTRUMENT)]
        if action == "reference" and (type(price) is not int or price <= 0 or price % book.tick):
            return [self._reject_unknown(symbol, 0, "", Reason.INVALID_PRICE)]
        out: list[Any] = []
        targets = [book]
        fsym = self.fractional_of.get(symbol)
        if fsym is not None:
            targets.append(self.books[fsym])
        for target in targets:
            target.out = out
            if action == "reference":
                target.set_reference(price)
            elif action == "halt":
                target.halt()
            else:
                target.resume()
            target.flush()
        return out

    # ------------------------------------------------------------ catalog

    def _catalog(self, msg: Any) -> list[Output]:
        """Applies a :class:`CatalogUpdate` (see there). A malformed or stale one changes nothing and says
        nothing (it is the engine's own input, from the catalog, not an order to answer)."""
        m: tuple[Any, ...] = msg
        symbol = m[0]
        if (
            type(symbol) is not str or not symbol or len(m) != 7
            or any(type(v) is not int for v in (m[1], m[2], m[3], m[4], m[6]))
            or type(m[5]) is not bool or m[1] < 1 or m[2] < 1 or m[3] < 0 or m[4] < 0
            or symbol in self.fractional_of.values()  # a fractional book follows its round-lot instrument
        ):
            return []
        _, lot, tick, rejection_bps, auction_bps, active, version = msg
        if version <= self.catalog_versions.get(symbol, 0):
            return []
        self.catalog_versions[symbol] = version
        out: list[Any] = []
        known = [cfg for cfg in self.instruments if cfg.symbol == symbol]
        cfg = (known[0] if known else InstrumentConfig(symbol))._replace(
            lot=lot, tick=tick, rejection_tunnel_bps=rejection_bps, auction_tunnel_bps=auction_bps)
        if known:  # in place: the order of the instruments is the order of the books (and of snapshots)
            self.instruments = tuple(cfg if c.symbol == symbol else c for c in self.instruments)
        else:
            self.instruments = (*self.instruments, cfg)
        scheduled = self._scheduled_phase()
        for book in self._open_books(cfg):
            book.out = out
            book.now = self.now
            book.trading_date = date_int(local_date(self.now)) if self.now else 0
            book.set_scheduled_phase(scheduled)
            if not book.seq:
                book._emit_phase()  # a new book says it exists, even while the market is closed
        standard = self.books[symbol]
        fractional = self.books.get(symbol + "F")
        targets = [(standard, lot, 0, active)]
        if fractional is not None:
            # a round lot of 1 leaves nothing to the fractional market: its book stays, suspended
            targets.append((fractional, 1, lot - 1, active and lot > 1))
        for book, book_lot, max_qty, book_active in targets:
            book.out = out
            book.lot = book_lot
            book.max_qty = max_qty
            book.tick = tick
            book.rejection_tunnel_bps = rejection_bps
            book.auction_tunnel_bps = auction_bps
            book.set_reference(standard.reference_price)
            if not book_active and not book.suspended:
                book.suspended = True
                book.halt()
            elif book_active and book.suspended:
                book.suspended = False
                if book.phase == Phase.HALTED and book.scheduled_phase == Phase.CLOSED:
                    book.phase = Phase.CLOSED  # suspended while closed: it opens with the next session
                    book._emit_phase()
                else:
                    book.resume()  # B3 reopens through an auction (a volatility auction in continuous trading)
            book.flush()
        return out

    def _scheduled_phase(self) -> str:
        """The phase the schedule gives now (what every book follows unless halted or in an auction)."""
        for book in self.books.values():
            return book.scheduled_phase
        return self.calendar.phase_at(self.now) if self.next_boundary_ns else Phase.CLOSED

    # ------------------------------------------------------------ clock

    def _tick(self, now_any: Any) -> list[Output]:
        out: list[Any] = []
        if type(now_any) is not int or now_any < self.now:
            return out  # time never goes backwards; a stale tick is ignored
        now: int = now_any
        books = list(self.books.values())
        for book in books:
            book.out = out
        calendar = self.calendar
        if not self.next_boundary_ns:
            self._set_now(books, now)
            phase = calendar.phase_at(now)
            for book in books:
                book.set_scheduled_phase(phase)
            self.next_boundary_ns, self.next_boundary_phase = calendar.next_boundary(now)
        else:
            while True:
                boundary = self.next_boundary_ns if self.next_boundary_ns <= now else 0
                ends = [b.auction_end_ns for b in books if b.phase == Phase.VOLATILITY_AUCTION]
                auction_end = min(ends) if ends else 0
                if auction_end and auction_end <= now and (not boundary or auction_end <= boundary):
                    self._set_now(books, auction_end)
                    for book in books:
                        if book.phase == Phase.VOLATILITY_AUCTION and book.auction_end_ns == auction_end:
                            book.end_volatility_auction()
                    continue
                if boundary:
                    self._set_now(books, boundary)
                    for book in books:
                        book.set_scheduled_phase(self.next_boundary_phase)
                    self.next_boundary_ns, self.next_boundary_phase = calendar.next_boundary(boundary)
                    continue
                break
            self._set_now(books, now)
        for book in books:
            book.flush()
        return out

    def _set_now(self, books: list[OrderBook], now: int) -> None:
        self.now = now
        today = local_date(now)
        trading_date = date_int(today)
        next_trading_date = self._next_trading_date(today)
        for book in books:
            book.now = now
            book.trading_date = trading_date
            book.next_trading_date = next_trading_date

    def _next_trading_date(self, today: date) -> int:
        """The next session's date (YYYYMMDD) after ``today``: a GTD order whose date falls before it expires
        at today's close (its date may be a weekend or a holiday)."""
        if self._next_trading[0] != today:
            day = today + ONE_DAY
            while not self.calendar.is_trading_day(day):
                day += ONE_DAY
            self._next_trading = (today, date_int(day))
        return self._next_trading[1]

    # ------------------------------------------------------------ queries

    def book(self, symbol: str) -> OrderBook:
        return self.books[symbol]

    def phase(self, symbol: str) -> str:
        return self.books[symbol].phase

    # ------------------------------------------------------------ snapshot / restore

    def snapshot(self) -> bytes:
        """The whole state as bytes (pickle of plain data; the linked lists are saved as
        queues of order ids)."""
        state = {
            "version": SNAPSHOT_VERSION,
            "instruments": [tuple(cfg) for cfg in self.instruments],
            "holidays": sorted(self.calendar.holidays),
            "now": self.now,
            "seq": self.seq,
            "ids": self.ids.last,
            "next_boundary": (self.next_boundary_ns, self.next_boundary_phase),
            "books": [_book_state(book) for book in self.books.values()],
            "catalog_versions": dict(self.catalog_versions),
            "unlisted_seq": dict(self.unlisted_seq),
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, data: bytes) -> Engine:
        state = pickle.loads(data)
        if state["version"] != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {state['version']}")
        engine = cls(
            [InstrumentConfig(*cfg) for cfg in state["instruments"]],
            SessionCalendar(state["holidays"]),  # older snapshots also carry "schedules": the session's now
        )
        engine.now = state["now"]
        engine.seq = state["seq"]
        engine.ids.last = state["ids"]
        engine.next_boundary_ns, engine.next_boundary_phase = state["next_boundary"]
        engine.catalog_versions = dict(state.get("catalog_versions", {}))
        engine.unlisted_seq = dict(state.get("unlisted_seq", {}))
        for book_state in state["books"]:
            symbol = book_state["symbol"]
            if symbol not in engine.books:  # a fractional book kept after its round lot became 1
                engine.books[symbol] = OrderBook(symbol, engine.ids)
                if symbol[:-1] in engine.books:
                    engine.fractional_of[symbol[:-1]] = symbol
            _restore_book(engine.books[symbol], book_state)
        # the snapshot's order of books (a clock tick's outputs follow it), whatever the constructor's was
        engine.books = {st["symbol"]: engine.books[st["symbol"]] for st in state["books"]}
        return engine


_BOOK_SCALARS = (
    "symbol", "reference_price", "last_price", "phase", "scheduled_phase", "auction_end_ns", "seq",
    "trade_seq", "now", "trading_date", "l1", "indicative",
)
# Saved since the catalog can change them; a snapshot without them keeps what the instrument list gives.
_BOOK_RULES = ("lot", "max_qty", "tick", "rejection_tunnel_bps", "auction_tunnel_bps", "volatility_auction_ns",
               "suspended")


def _book_state(book: OrderBook) -> dict[str, Any]:
    state: dict[str, Any] = {name: getattr(book, name) for name in _BOOK_SCALARS + _BOOK_RULES}
    state["orders"] = [o.state() for o in book.orders.values()]
    state["bids"] = [[o.order_id for o in book.bids[p].orders()] for p in book.bid_keys]
    state["asks"] = [[o.order_id for o in book.asks[-k].orders()] for k in book.ask_keys]
    state["stops"] = [o.order_id for o in book.stops]
    state["pending"] = [o.order_id for o in book.pending]
    return state


def _restore_book(book: OrderBook, state: dict[str, Any]) -> None:
    for name in _BOOK_SCALARS:
        setattr(book, name, state[name])
    for name in _BOOK_RULES:
        if name in state:
            setattr(book, name, state[name])
    book.set_reference(state["reference_price"])
    orders = {values[0]: Order.from_state(values) for values in state["orders"]}
    book.orders = orders
    for queues, levels, keys, sign in (
        (state["bids"], book.bids, book.bid_keys, 1),
        (state["asks"], book.asks, book.ask_keys, -1),
    ):
        levels.clear()
        keys.clear()
        for queue in queues:
            first = orders[queue[0]]
            level = PriceLevel(first.price)
            for order_id in queue:
                order = orders[order_id]
                assert order.where == IN_BOOK
                level.append(order)
            levels[first.price] = level
            keys.append(first.price * sign)
    book.stops = [orders[i] for i in state["stops"]]
    book.pending = [orders[i] for i in state["pending"]]
    assert all(o.where == IN_PENDING for o in book.pending)


def trading_date_of(now_ns: int) -> date:
    return local_date(now_ns)
