"""The wallet's MySQL adapter (SQLAlchemy Core): the schema of ``functions/wallet/migrations`` as tables, a
transaction per use case with ``SELECT ... FOR UPDATE`` on the user's account row, and the read side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects.mysql import insert

from mybroker.wallet.daytrade import TradeClass
from mybroker.wallet.ledger import BRL, BalanceKey, Bucket, FloorBreached, JournalEntry
from mybroker.wallet.ports import DayWithholding, PendingSettlement, StatementLine, StoredEntry
from mybroker.wallet.positions import Cost
from mybroker.wallet.reservations import Reservation, ReservationStatus, Side

metadata = MetaData()
accounts = Table("accounts", metadata, Column("account_id", String(64), primary_key=True),
                 Column("created_at", DateTime, nullable=False))
entries = Table(
    "journal_entries", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("entry_key", String(191), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref", String(191), nullable=False),
    Column("memo", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
postings = Table(
    "postings", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("bucket", String(16), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
)
balances = Table(
    "balances", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    Column("asset", String(12), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)
reservations = Table(
    "reservations", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("instrument", String(12), nullable=False),
    Column("ticker", String(12), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("reserved_cents", BigInteger, nullable=False),
    Column("reserved_quantity", BigInteger, nullable=False),
    Column("filled_quantity", BigInteger, nullable=False),
    Column("final_quantity", BigInteger, nullable=True),
    Column("status", String(12), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("pending_quantity", BigInteger, nullable=True),
    Column("pending_price_cents", BigInteger, nullable=True),
    Column("pending_seq", Integer, nullable=False, server_default="0"),
    Column("replace_seq", Integer, nullable=False, server_default="0"),
    Column("pledged", BigInteger, nullable=False),
    Column("confirmed", Boolean, nullable=False),
)
positions = Table(
    "positions", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("ticker", String(12), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("cost_cents", BigInteger, nullable=False),
)
settlements = Table(
    "settlements", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source_key", String(191), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("ticker", String(12), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("value_cents", BigInteger, nullable=False),
    Column("fees_cents", BigInteger, nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("settle_date", Date, nullable=False),
    Column("settled", Boolean, nullable=False),
)
trade_classes = Table(
    "trade_classes", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source_key", String(191), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("ticker", String(12), nullable=False),
    Column("instrument", String(12), nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    Column("fees_cents", BigInteger, nullable=False),
    Column("day_trade_quantity", BigInteger, nullable=False),
)
withholdings = Table(
    "withholdings", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("trade_date", Date, primary_key=True),
    Column("settle_date", Date, nullable=False),
    Column("swing_base_cents", BigInteger, nullable=False),
    Column("swing_cents", BigInteger, nullable=False),
    Column("day_trade_base_cents", BigInteger, nullable=False),
    Column("day_trade_cents", BigInteger, nullable=False),
    Column("withheld", Boolean, nullable=False),
    Column("withheld_cents", BigInteger, nullable=False, server_default="0"),
    Column("revision", Integer, nullable=False, server_default="0"),
)
processed_events = Table(
    "processed_events", metadata,
    Column("event_id", String(191), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("processed_at", DateTime, nullable=False),
)


# The hot path's statements, built once: executed with parameters, SQLAlchemy reuses their compiled form
# instead of building (and cache-keying) a new construct per call, which was a third of the wallet's CPU.
_INSERT_ACCOUNT = insert(accounts).prefix_with("IGNORE")
_LOCK_ACCOUNT = select(accounts.c.account_id).where(accounts.c.account_id == bindparam("account_id")).with_for_update()
_BALANCE = select(balances.c.amount).where(balances.c.account_id == bindparam("account_id"),
                                           balances.c.bucket == bindparam("bucket"),
                                           balances.c.asset == bindparam("asset"))
_ENTRY_BY_KEY = select(entries).where(entries.c.entry_key == bindparam("entry_key"))
_INSERT_ENTRY = entries.insert()
_INSERT_POSTING = postings.insert()
_balance_row = insert(balances)
_ADD_TO_BALANCE = _balance_row.on_duplicate_key_update(amount=balances.c.amount + _balance_row.inserted.amount)
# the floor: a decrease applies only when the balance covers it, in the same statement (0 rows: refused)
_TAKE_FROM_BALANCE = (update(balances)
                      .where(balances.c.account_id == bindparam("b_account"),
                             balances.c.bucket == bindparam("b_bucket"), balances.c.asset == bindparam("b_asset"),
                             balances.c.amount >= bindparam("b_take"))
                      .values(amount=balances.c.amount - bindparam("b_take")))
_RESERVATION = select(reservations).where(reservations.c.account_id == bindparam("account_id"),
                                          reservations.c.order_id == bindparam("order_id")).with_for_update()
_RESERVATION_UPDATES = ("instrument", "ticker", "side", "quantity", "price_cents", "trade_date", "reserved_cents",
                        "reserved_quantity", "filled_quantity", "final_quantity", "status", "request_hash",
                        "updated_at", "pending_quantity", "pending_price_cents", "pending_seq", "replace_seq",
                        "pledged", "confirmed")
_reservation_row = insert(reservations)
_SAVE_RESERVATION = _reservation_row.on_duplicate_key_update(
    {k: _reservation_row.inserted[k] for k in _RESERVATION_UPDATES})
_EVENT_SEEN = select(processed_events.c.event_id).where(processed_events.c.event_id == bindparam("event_id"))
_RECORD_EVENT = processed_events.insert()
_COST = select(positions).where(positions.c.account_id == bindparam("account_id"),
                                positions.c.ticker == bindparam("ticker"))
_position_row = insert(positions)
_SAVE_COST = _position_row.on_duplicate_key_update(quantity=_position_row.inserted.quantity,
                                                   cost_cents=_position_row.inserted.cost_cents)
_ADD_SETTLEMENT = settlements.insert()
_IRRF_OWED = select(func.coalesce(func.sum(withholdings.c.swing_cents + withholdings.c.day_trade_cents
                                           - withholdings.c.withheld_cents), 0)).where(
    withholdings.c.account_id == bindparam("account_id"), withholdings.c.withheld.is_(False))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def is_system(account_id: str) -> bool:
    return account_id.startswith("system:")


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(int(row.id), row.entry_key, row.kind, row.ref, row.request_hash,
                       row.created_at.replace(tzinfo=UTC))


def _reservation(row: Any) -> Reservation:
    return Reservation(row.account_id, row.order_id, row.instrument, row.ticker, Side(row.side), int(row.quantity),
                       int(row.price_cents), row.trade_date, int(row.reserved_cents), int(row.reserved_quantity),
                       int(row.filled_quantity), None if row.final_quantity is None else int(row.final_quantity),
                       ReservationStatus(row.status), row.request_hash,
                       pending_quantity=None if row.pending_quantity is None else int(row.pending_quantity),
                       pending_price_cents=None if row.pending_price_cents is None else int(row.pending_price_cents),
                       pending_seq=int(row.pending_seq), replace_seq=int(row.replace_seq),
                       pledged=int(row.pledged), confirmed=bool(row.confirmed))


def _settlement(row: Any) -> PendingSettlement:
    return PendingSettlement(row.source_key, row.account_id, row.order_id, Side(row.side), row.ticker,
                             int(row.quantity), int(row.value_cents), int(row.fees_cents), row.trade_date,
                             row.settle_date, int(row.id), bool(row.settled))


def _trade_class(row: Any) -> TradeClass:
    return TradeClass(row.source_key, row.account_id, row.order_id, row.ticker, row.trade_date, Side(row.side),
                      row.quantity, row.price_cents, row.fees_cents, row.day_trade_quantity, row.instrument, row.id)


def _withholding(row: Any) -> DayWithholding:
    return DayWithholding(row.account_id, row.trade_date, row.settle_date, row.swing_base_cents, row.swing_cents,
                          row.day_trade_base_cents, row.day_trade_cents, bool(row.withheld), int(row.withheld_cents),
                          int(row.revision))


class MySqlTx:
    def __init__(self, c: Connection) -> None:
        self.c = c

    def lock_account(self, account_id: str, create: bool) -> bool:
        if create:
            self.c.execute(_INSERT_ACCOUNT, {"account_id": account_id, "created_at": now()})
        return self.c.execute(_LOCK_ACCOUNT, {"account_id": account_id}).first() is not None

    def balance(self, account_id: str, bucket: Bucket, asset: str) -> int:
        v = self.c.execute(_BALANCE, {"account_id": account_id, "bucket": bucket.value, "asset": asset}).scalar()
        return int(v or 0)

    def find_entry(self, key: str) -> StoredEntry | None:
        row = self.c.execute(_ENTRY_BY_KEY, {"entry_key": key}).first()
        return _stored(row) if row else None

    def post(self, entry: JournalEntry) -> StoredEntry:
        at = now()
        key = self.c.execute(_INSERT_ENTRY, {
            "entry_key": entry.key, "account_id": entry.account_id, "kind": entry.kind, "ref": entry.ref[:191],
            "memo": entry.memo[:255], "request_hash": entry.request_hash, "created_at": at}).inserted_primary_key
        assert key is not None
        entry_id = int(key[0])
        if entry.postings:
            self.c.execute(_INSERT_POSTING, [
                {"entry_id": entry_id, "account_id": p.account_id, "bucket": p.bucket.value, "asset": p.asset,
                 "amount": p.amount, "created_at": at} for p in entry.postings])
        # system balances are derived from postings (no hot rows); a user's are kept as running totals
        for p in entry.postings:
            if is_system(p.account_id):
                continue
            if p.amount > 0:
                self.c.execute(_ADD_TO_BALANCE, {"account_id": p.account_id, "bucket": p.bucket.value,
                                                 "asset": p.asset, "amount": p.amount})
            elif self.c.execute(_TAKE_FROM_BALANCE, {"b_account": p.account_id, "b_bucket": p.bucket.value,
                                                     "b_asset": p.asset, "b_take": -p.amount}).rowcount != 1:
                raise FloorBreached(p.account_id, p.bucket, p.asset, p.amount)
        return StoredEntry(int(entry_id), entry.key, entry.kind, entry.ref, entry.request_hash, at.replace(tzinfo=UTC))

    def reservation(self, account_id: str, order_id: str) -> Reservation | None:
        row = self.c.execute(_RESERVATION, {"account_id": account_id, "order_id": order_id}).first()
        return _reservation(row) if row else None

    def save_reservation(self, r: Reservation) -> None:
        at = now()
        self.c.execute(_SAVE_RESERVATION, {
            "account_id": r.account_id, "order_id": r.order_id, "instrument": r.instrument, "ticker": r.ticker,
            "side": r.side.value, "quantity": r.quantity, "price_cents": r.price_cents, "trade_date": r.trade_date,
            "reserved_cents": r.reserved_cents, "reserved_quantity": r.reserved_quantity,
            "filled_quantity": r.filled_quantity, "final_quantity": r.final_quantity, "status": r.status.value,
            "request_hash": r.request_hash, "created_at": at, "updated_at": at,
            "pending_quantity": r.pending_quantity, "pending_price_cents": r.pending_price_cents,
            "pending_seq": r.pending_seq, "replace_seq": r.replace_seq, "pledged": r.pledged,
            "confirmed": r.confirmed})

    def event_seen(self, event_id: str) -> bool:
        return self.c.execute(_EVENT_SEEN, {"event_id": event_id}).first() is not None

    def record_event(self, event_id: str, account_id: str, order_id: str, event_type: str, outcome: str) -> None:
        self.c.execute(_RECORD_EVENT, {"event_id": event_id, "account_id": account_id[:64],
                                       "order_id": order_id[:64], "event_type": event_type, "outcome": outcome,
                                       "processed_at": now()})

    def cost(self, account_id: str, ticker: str) -> Cost:
        row = self.c.execute(_COST, {"account_id": account_id, "ticker": ticker}).first()
        return Cost(int(row.quantity), int(row.cost_cents)) if row else Cost(0, 0)

    def save_cost(self, account_id: str, ticker: str, cost: Cost) -> None:
        self.c.execute(_SAVE_COST, {"account_id": account_id, "ticker": ticker, "quantity": cost.quantity,
                                    "cost_cents": cost.cost_cents})

    def add_settlement(self, item: PendingSettlement) -> None:
        self.c.execute(_ADD_SETTLEMENT, {
            "source_key": item.source_key, "account_id": item.account_id, "order_id": item.order_id,
            "side": item.side.value, "ticker": item.ticker, "quantity": item.quantity,
            "value_cents": item.value_cents, "fees_cents": item.fees_cents, "trade_date": item.trade_date,
            "settle_date": item.settle_date, "settled": False})

    def settlement(self, settlement_id: int) -> PendingSettlement | None:
        row = self.c.execute(select(settlements).where(settlements.c.id == settlement_id).with_for_update()).first()
        return _settlement(row) if row else None

    def mark_settled(self, settlement_id: int) -> None:
        self.c.execute(update(settlements).where(settlements.c.id == settlement_id).values(settled=True))

    def unsettled_credit(self, account_id: str, asset: str) -> int:
        open_ = and_(settlements.c.account_id == account_id, settlements.c.settled.is_(False))
        if asset == BRL:
            q = select(func.sum(settlements.c.value_cents - settlements.c.fees_cents)).where(
                open_, settlements.c.side == Side.SELL.value)
        else:
            q = select(func.sum(settlements.c.quantity)).where(open_, settlements.c.side == Side.BUY.value,
                                                               settlements.c.ticker == asset)
        return int(self.c.execute(q).scalar() or 0)

    def day_fills(self, account_id: str, ticker: str | None, trade_date: date) -> list[TradeClass]:
        q = select(trade_classes).where(trade_classes.c.account_id == account_id,
                                        trade_classes.c.trade_date == trade_date)
        if ticker is not None:
            q = q.where(trade_classes.c.ticker == ticker)
        rows = self.c.execute(q.order_by(trade_classes.c.id)).all()
        return [_trade_class(r) for r in rows]

    def add_trade_class(self, item: TradeClass) -> None:
        self.c.execute(trade_classes.insert().values(
            source_key=item.source_key, account_id=item.account_id, order_id=item.order_id, ticker=item.ticker,
            instrument=item.instrument,
            trade_date=item.trade_date, side=item.side.value, quantity=item.quantity,
            price_cents=item.price_cents, fees_cents=item.fees_cents, day_trade_quantity=item.day_trade_quantity))

    def set_day_trade_quantity(self, trade_class_id: int, day_trade_quantity: int) -> None:
        self.c.execute(update(trade_classes).where(trade_classes.c.id == trade_class_id)
                       .values(day_trade_quantity=day_trade_quantity))

    def save_withholding(self, item: DayWithholding) -> None:
        values = {"settle_date": item.settle_date, "swing_base_cents": item.swing_base_cents,
                  "swing_cents": item.swing_cents, "day_trade_base_cents": item.day_trade_base_cents,
                  "day_trade_cents": item.day_trade_cents}
        old = self.withholding(item.account_id, item.trade_date)
        if old is None:
            self.c.execute(withholdings.insert().values(account_id=item.account_id, trade_date=item.trade_date,
                                                        withheld=False, **values))
        elif old.withheld_cents:  # a fill after the day was withheld: the difference is owed (or given back)
            self.c.execute(update(withholdings).where(withholdings.c.account_id == item.account_id,
                                                      withholdings.c.trade_date == item.trade_date).values(
                withheld=item.total_cents == old.withheld_cents, revision=old.revision + 1, **values))
        else:
            self.c.execute(update(withholdings).where(withholdings.c.account_id == item.account_id,
                                                      withholdings.c.trade_date == item.trade_date).values(**values))

    def withholding(self, account_id: str, trade_date: date) -> DayWithholding | None:
        row = self.c.execute(select(withholdings).where(withholdings.c.account_id == account_id,
                                                        withholdings.c.trade_date == trade_date)
                             .with_for_update()).first()
        return _withholding(row) if row else None

    def mark_withheld(self, account_id: str, trade_date: date, withheld_cents: int) -> None:
        self.c.execute(update(withholdings).where(withholdings.c.account_id == account_id,
                                                  withholdings.c.trade_date == trade_date).values(
            withheld=True, withheld_cents=withheld_cents))

    def irrf_owed(self, account_id: str) -> int:
        return int(self.c.execute(_IRRF_OWED, {"account_id": account_id}).scalar_one())


class MySqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[MySqlTx]:
        with self.engine.begin() as c:
            yield MySqlTx(c)

    def orphan_candidates(self, older_than: datetime, limit: int) -> list[Reservation]:
        cutoff = older_than.astimezone(UTC).replace(tzinfo=None)
        with self.engine.connect() as c:
            rows = c.execute(select(reservations).where(
                reservations.c.confirmed.is_(False), reservations.c.status == ReservationStatus.ACTIVE.value,
                reservations.c.created_at < cutoff).order_by(reservations.c.created_at).limit(limit)).all()
        return [_reservation(r) for r in rows]

    def due_settlements(self, today: date, limit: int) -> list[tuple[int, str]]:
        with self.engine.connect() as c:
            rows = c.execute(select(settlements.c.id, settlements.c.account_id).where(
                settlements.c.settled.is_(False), settlements.c.settle_date <= today)
                .order_by(settlements.c.id).limit(limit)).all()
        return [(int(r.id), r.account_id) for r in rows]

    def balances(self, account_id: str) -> dict[tuple[Bucket, str], int]:
        with self.engine.connect() as c:
            rows = c.execute(select(balances).where(balances.c.account_id == account_id)).all()
        return {(Bucket(r.bucket), r.asset): int(r.amount) for r in rows if r.amount}

    def costs(self, account_id: str) -> dict[str, Cost]:
        with self.engine.connect() as c:
            rows = c.execute(select(positions).where(positions.c.account_id == account_id)).all()
        return {r.ticker: Cost(int(r.quantity), int(r.cost_cents)) for r in rows}

    def statement(self, account_id: str, start: datetime | None, end: datetime | None, before_id: int | None,
                  limit: int, asset: str | None) -> list[StatementLine]:
        q = (select(postings.c.id, postings.c.entry_id, postings.c.created_at, postings.c.bucket, postings.c.asset,
                    postings.c.amount, entries.c.kind, entries.c.ref, entries.c.memo)
             .join(entries, entries.c.id == postings.c.entry_id)
             .where(postings.c.account_id == account_id))
        conditions = []
        if start is not None:
            conditions.append(postings.c.created_at >= start.astimezone(UTC).replace(tzinfo=None))
        if end is not None:
            conditions.append(postings.c.created_at < end.astimezone(UTC).replace(tzinfo=None))
        if before_id is not None:
            conditions.append(postings.c.id < before_id)
        if asset is not None:
            conditions.append(postings.c.asset == asset)
        if conditions:
            q = q.where(and_(*conditions))
        with self.engine.connect() as c:
            rows = c.execute(q.order_by(postings.c.id.desc()).limit(limit)).all()
        return [StatementLine(int(r.id), int(r.entry_id), r.created_at.replace(tzinfo=UTC), r.kind, r.ref, r.memo,
                              Bucket(r.bucket), r.asset, int(r.amount)) for r in rows]

    def reservation(self, account_id: str, order_id: str) -> Reservation | None:
        with self.engine.connect() as c:
            row = c.execute(select(reservations).where(reservations.c.account_id == account_id,
                                                       reservations.c.order_id == order_id)).first()
        return _reservation(row) if row else None

    def pending_settlements(self, account_id: str) -> list[PendingSettlement]:
        with self.engine.connect() as c:
            rows = c.execute(select(settlements).where(settlements.c.account_id == account_id,
                                                       settlements.c.settled.is_(False))).all()
        return [_settlement(r) for r in rows]

    def ledger_totals(self) -> dict[str, int]:
        with self.engine.connect() as c:
            rows = c.execute(select(postings.c.asset, func.sum(postings.c.amount)).group_by(postings.c.asset)).all()
        return {r[0]: int(r[1]) for r in rows}

    def user_balances(self, account_id: str | None) -> dict[BalanceKey, int]:
        q = select(balances)
        if account_id is not None:
            q = q.where(balances.c.account_id == account_id)
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return {(r.account_id, Bucket(r.bucket), r.asset): int(r.amount) for r in rows if r.amount}

    def user_balances_from_postings(self, account_id: str | None) -> dict[BalanceKey, int]:
        q = (select(postings.c.account_id, postings.c.bucket, postings.c.asset, func.sum(postings.c.amount))
             .where(postings.c.account_id.not_like("system:%"))
             .group_by(postings.c.account_id, postings.c.bucket, postings.c.asset))
        if account_id is not None:
            q = q.where(postings.c.account_id == account_id)
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return {(r[0], Bucket(r[1]), r[2]): int(r[3]) for r in rows if int(r[3])}

    def held_by_reservations(self, account_id: str | None) -> dict[BalanceKey, int]:
        cash = select(reservations.c.account_id, func.sum(reservations.c.reserved_cents)).group_by(
            reservations.c.account_id)
        shares = select(reservations.c.account_id, reservations.c.ticker, func.sum(reservations.c.reserved_quantity)
                        ).group_by(reservations.c.account_id, reservations.c.ticker)
        if account_id is not None:
            cash = cash.where(reservations.c.account_id == account_id)
            shares = shares.where(reservations.c.account_id == account_id)
        out: dict[BalanceKey, int] = {}
        with self.engine.connect() as c:
            for acc, total in c.execute(cash).all():
                out[(acc, Bucket.RESERVED, BRL)] = int(total)
            for acc, ticker, total in c.execute(shares).all():
                out[(acc, Bucket.RESERVED, ticker)] = int(total)
        return {k: v for k, v in out.items() if v}

    def trade_classes(self, account_id: str, start: date | None, end: date | None) -> list[TradeClass]:
        q = select(trade_classes).where(trade_classes.c.account_id == account_id)
        if start is not None:
            q = q.where(trade_classes.c.trade_date >= start)
        if end is not None:
            q = q.where(trade_classes.c.trade_date <= end)
        with self.engine.connect() as c:
            return [_trade_class(r) for r in c.execute(q.order_by(trade_classes.c.id)).all()]

    def irrf_owed(self, account_id: str) -> int:
        with self.engine.connect() as c:
            return int(c.execute(_IRRF_OWED, {"account_id": account_id}).scalar_one())

    def due_withholdings(self, today: date, limit: int) -> list[tuple[str, date]]:
        with self.engine.connect() as c:
            rows = c.execute(select(withholdings.c.account_id, withholdings.c.trade_date).where(
                withholdings.c.withheld.is_(False), withholdings.c.settle_date <= today,
                withholdings.c.swing_cents + withholdings.c.day_trade_cents != withholdings.c.withheld_cents)
                .order_by(withholdings.c.settle_date, withholdings.c.account_id).limit(limit)).all()
        return [(r.account_id, r.trade_date) for r in rows]

    def withholdings(self, account_id: str, start: date | None, end: date | None) -> list[DayWithholding]:
        q = select(withholdings).where(withholdings.c.account_id == account_id)
        if start is not None:
            q = q.where(withholdings.c.trade_date >= start)
        if end is not None:
            q = q.where(withholdings.c.trade_date <= end)
        with self.engine.connect() as c:
            return [_withholding(r) for r in c.execute(q.order_by(withholdings.c.trade_date)).all()]
