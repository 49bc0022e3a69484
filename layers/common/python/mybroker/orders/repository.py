"""The MySQL adapter of :class:`mybroker.orders.ports.Repository` (database ``orders``, SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from mybroker.contracts.engine import ExecutionReportMessage, OrderType, SelfTradePrevention, Side, TimeInForce
from mybroker.contracts.orders import TERMINAL_STATUSES, OrderStatus
from mybroker.orders.domain import FillRecord, Order
from mybroker.orders.ports import ConcurrentChange, DuplicateClientOrderId, ReportApplier
from mybroker.outbox import OutboxMessage, add_outbox, mark_sent, outbox_table, unsent

ORDER_ID_LENGTH = 36  # a UUID
meta = sa.MetaData()
orders = sa.Table(
    "orders", meta,
    sa.Column("order_id", sa.String(ORDER_ID_LENGTH), primary_key=True),
    sa.Column("account_id", sa.String(64)),
    sa.Column("client_order_id", sa.String(64)),
    sa.Column("request_hash", sa.String(64)),
    sa.Column("instrument", sa.String(12)),
    sa.Column("side", sa.String(4)),
    sa.Column("order_type", sa.String(32)),
    sa.Column("time_in_force", sa.String(20)),
    sa.Column("quantity", sa.BigInteger),
    sa.Column("price_cents", sa.BigInteger),
    sa.Column("stop_price_cents", sa.BigInteger),
    sa.Column("protection_price_cents", sa.BigInteger),
    sa.Column("display_quantity", sa.BigInteger),
    sa.Column("min_quantity", sa.BigInteger),
    sa.Column("expire_date", sa.Date),
    sa.Column("self_trade_prevention", sa.String(20)),
    sa.Column("status", sa.String(20)),
    sa.Column("cum_quantity", sa.BigInteger),
    sa.Column("leaves_quantity", sa.BigInteger),
    sa.Column("avg_price_cents", sa.BigInteger),
    sa.Column("filled_quantity", sa.BigInteger),
    sa.Column("filled_value_cents", sa.BigInteger),
    sa.Column("engine_client_order_id", sa.String(80)),
    sa.Column("replace_seq", sa.Integer),
    sa.Column("event_seq", sa.Integer),
    sa.Column("last_exec_id", sa.BigInteger),
    sa.Column("reason", sa.String(200)),
    sa.Column("trade_date", sa.Date),
    sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime),
)
execution_reports = sa.Table(
    "execution_reports", meta,
    sa.Column("instrument", sa.String(12), primary_key=True),
    sa.Column("exec_id", sa.BigInteger, primary_key=True),
    sa.Column("order_id", sa.String(36)),
    sa.Column("exec_type", sa.String(20)),
    sa.Column("received_at", sa.DateTime),
)
fills = sa.Table(
    "fills", meta,
    sa.Column("instrument", sa.String(12), primary_key=True),
    sa.Column("exec_id", sa.BigInteger, primary_key=True),
    sa.Column("order_id", sa.String(36)),
    sa.Column("trade_id", sa.BigInteger),
    sa.Column("quantity", sa.BigInteger),
    sa.Column("price_cents", sa.BigInteger),
    sa.Column("fees_cents", sa.BigInteger),
    sa.Column("occurred_at", sa.DateTime),
)
outbox = outbox_table(meta)


# The hot path's statements, built once and executed with parameters: SQLAlchemy then reuses their compiled
# form instead of building and cache-keying a new construct per call (a quarter of orders-api's CPU).
_INSERT_ORDER = orders.insert()
_BY_ID = sa.select(orders).where(orders.c.order_id == sa.bindparam("order_id"),
                                 orders.c.account_id == sa.bindparam("account_id"))
_BY_CLIENT_ORDER_ID = sa.select(orders).where(orders.c.account_id == sa.bindparam("account_id"),
                                              orders.c.client_order_id == sa.bindparam("client_order_id"))
_LOCK_ORDER = sa.select(orders).where(orders.c.order_id == sa.bindparam("order_id")).with_for_update()
_READ_BACK = sa.select(orders).where(orders.c.order_id == sa.bindparam("order_id")).with_for_update(read=True)
_REPORT_SEEN = execution_reports.insert()
_UPDATE_ORDER = orders.update().where(orders.c.order_id == sa.bindparam("key_order_id"))
_INSERT_FILL = fills.insert()
_FILLS = sa.select(fills).where(fills.c.order_id == sa.bindparam("order_id")).order_by(fills.c.exec_id)


def _naive(t: datetime | None) -> datetime | None:
    """MySQL DATETIME has no zone: store UTC."""
    return None if t is None else t.astimezone(UTC).replace(tzinfo=None)


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC)


def _row(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.order_id, "account_id": o.account_id, "client_order_id": o.client_order_id,
        "request_hash": o.request_hash, "instrument": o.instrument, "side": o.side.value,
        "order_type": o.order_type.value, "time_in_force": o.time_in_force.value, "quantity": o.quantity,
        "price_cents": o.price_cents, "stop_price_cents": o.stop_price_cents,
        "protection_price_cents": o.protection_price_cents, "display_quantity": o.display_quantity,
        "min_quantity": o.min_quantity, "expire_date": o.expire_date,
        "self_trade_prevention": o.self_trade_prevention.value, "status": o.status.value,
        "cum_quantity": o.cum_quantity, "leaves_quantity": o.leaves_quantity, "avg_price_cents": o.avg_price_cents,
        "filled_quantity": o.filled_quantity, "filled_value_cents": o.filled_value_cents,
        "engine_client_order_id": o.engine_client_order_id, "replace_seq": o.replace_seq,
        "event_seq": o.event_seq, "last_exec_id": o.last_exec_id, "reason": o.reason[:200],
        "trade_date": o.trade_date, "created_at": _naive(o.created_at), "updated_at": _naive(o.updated_at or
                                                                                              o.created_at),
    }


def _order(r: RowMapping) -> Order:
    created = _aware(r["created_at"])
    assert created is not None
    return Order(
        order_id=r["order_id"], account_id=r["account_id"], client_order_id=r["client_order_id"],
        request_hash=r["request_hash"], instrument=r["instrument"], side=Side(r["side"]),
        order_type=OrderType(r["order_type"]), time_in_force=TimeInForce(r["time_in_force"]),
        quantity=r["quantity"], price_cents=r["price_cents"], stop_price_cents=r["stop_price_cents"],
        protection_price_cents=r["protection_price_cents"], display_quantity=r["display_quantity"],
        min_quantity=r["min_quantity"], expire_date=r["expire_date"],
        self_trade_prevention=SelfTradePrevention(r["self_trade_prevention"]), status=OrderStatus(r["status"]),
        cum_quantity=r["cum_quantity"], leaves_quantity=r["leaves_quantity"], avg_price_cents=r["avg_price_cents"],
        filled_quantity=r["filled_quantity"], filled_value_cents=r["filled_value_cents"],
        engine_client_order_id=r["engine_client_order_id"], replace_seq=r["replace_seq"], event_seq=r["event_seq"],
        last_exec_id=r["last_exec_id"], reason=r["reason"], trade_date=r["trade_date"], created_at=created,
        updated_at=_aware(r["updated_at"]),
    )


class MySqlRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reads -------------------------------------------------------------------------------------
    def get(self, account_id: str, order_id: str) -> Order | None:
        if len(order_id) > ORDER_ID_LENGTH:  # no such order: never the order whose id it starts with
            return None
        with self.engine.connect() as c:
            r = c.execute(_BY_ID, {"order_id": order_id, "account_id": account_id}).mappings().first()
        return None if r is None else _order(r)

    def read_back(self, order_id: str) -> Order | None:
        # a shared-lock read waits for a transaction still holding the row (an insert whose COMMIT is in flight)
        # instead of reading around it, so "absent" means absent
        if len(order_id) > ORDER_ID_LENGTH:
            return None
        with self.engine.begin() as c:
            r = c.execute(_READ_BACK, {"order_id": order_id}).mappings().first()
        return None if r is None else _order(r)

    def by_client_order_id(self, account_id: str, client_order_id: str) -> Order | None:
        with self.engine.connect() as c:
            r = c.execute(_BY_CLIENT_ORDER_ID, {"account_id": account_id,
                                                "client_order_id": client_order_id}).mappings().first()
        return None if r is None else _order(r)

    def search(self, account_id: str, status: str | None, instrument: str | None, trade_date: date | None,
               limit: int, offset: int) -> tuple[list[Order], int]:
        where = [orders.c.account_id == account_id]
        if status:
            where.append(orders.c.status == status)
        if instrument:
            where.append(orders.c.instrument == instrument)
        if trade_date:
            where.append(orders.c.trade_date == trade_date)
        with self.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count()).select_from(orders).where(*where)).scalar_one()
            rows = c.execute(sa.select(orders).where(*where)
                             .order_by(orders.c.created_at.desc(), orders.c.order_id)
                             .limit(limit).offset(offset)).mappings().all()
        return [_order(r) for r in rows], int(total)

    def fills(self, order_id: str) -> list[FillRecord]:
        with self.engine.connect() as c:
            rows = c.execute(_FILLS, {"order_id": order_id}).mappings().all()
        return [FillRecord(r["exec_id"], r["trade_id"], r["quantity"], r["price_cents"], r["fees_cents"],
                           _aware(r["occurred_at"]) or datetime.now(UTC)) for r in rows]

    def open_orders(self) -> list[Order]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(orders).where(
                orders.c.status.not_in([s.value for s in TERMINAL_STATUSES]))).mappings().all()
        return [_order(r) for r in rows]

    # --- writes ------------------------------------------------------------------------------------
    @staticmethod
    def _add_outbox(c: Connection, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        return add_outbox(c, outbox, messages)

    def insert(self, order: Order, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        try:
            with self.engine.begin() as c:
                c.execute(_INSERT_ORDER, _row(order))
                return self._add_outbox(c, messages)
        except IntegrityError:
            existing = self.by_client_order_id(order.account_id, order.client_order_id)
            if existing is None:
                raise
            raise DuplicateClientOrderId(existing) from None

    def update(self, order: Order, expected_replace_seq: int, messages: Sequence[OutboxMessage],
               ) -> list[OutboxMessage]:
        with self.engine.begin() as c:
            res = c.execute(orders.update().where(
                orders.c.order_id == order.order_id, orders.c.replace_seq == expected_replace_seq,
                orders.c.status.not_in([s.value for s in TERMINAL_STATUSES]),
            ).values(engine_client_order_id=order.engine_client_order_id, replace_seq=order.replace_seq,
                     updated_at=_naive(order.updated_at or datetime.now(UTC))))
            if res.rowcount != 1:
                raise ConcurrentChange(order.order_id)
            return self._add_outbox(c, messages)

    def apply_report(self, report: ExecutionReportMessage, applier: ReportApplier) -> list[OutboxMessage] | None:
        with self.engine.begin() as c:
            order_id = report.order_id
            try:
                with c.begin_nested():
                    c.execute(_REPORT_SEEN, {
                        "instrument": report.instrument, "exec_id": report.exec_id,
                        "order_id": order_id[:ORDER_ID_LENGTH], "exec_type": report.exec_type.value,
                        "received_at": _naive(datetime.now(UTC))})
            except IntegrityError:
                return None  # seen before: applied in the transaction that stored it
            r = None if len(order_id) > ORDER_ID_LENGTH else \
                c.execute(_LOCK_ORDER, {"order_id": order_id}).mappings().first()
            if r is None:
                return None  # not ours (or not yet known): recorded as seen, nothing to change
            transition, messages = applier(_order(r))
            row = _row(transition.order)
            changes = {k: v for k, v in row.items() if k not in ("order_id", "created_at")}
            c.execute(_UPDATE_ORDER, {"key_order_id": transition.order.order_id, **changes})
            f = transition.fill
            if f is not None:
                c.execute(_INSERT_FILL, {"instrument": report.instrument, "exec_id": f.exec_id,
                                         "order_id": transition.order.order_id, "trade_id": f.trade_id,
                                         "quantity": f.quantity, "price_cents": f.price_cents,
                                         "fees_cents": f.fees_cents, "occurred_at": _naive(f.occurred_at)})
            return self._add_outbox(c, messages)

    # --- the outbox --------------------------------------------------------------------------------
    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]:
        return unsent(self.engine, outbox, limit, older_than)

    def unsent_commands(self, order_id: str, before: int) -> list[OutboxMessage]:
        # ix_outbox_unsent (sent_at, id): only the unsent rows are read
        with self.engine.connect() as c:
            rows = c.execute(self._unsent_commands, {"before": before, "prefix": f"{order_id}:%"}).mappings().all()
        return [OutboxMessage(r["destination"], r["target"], r["msg_key"], r["message_id"], bytes(r["body"]),
                              int(r["id"])) for r in rows]

    _unsent_commands = sa.select(outbox).where(
        outbox.c.sent_at.is_(None), outbox.c.id < sa.bindparam("before"), outbox.c.destination == "rabbitmq",
        outbox.c.message_id.like(sa.bindparam("prefix"))).order_by(outbox.c.id)

    def mark_sent(self, outbox_ids: Sequence[int]) -> None:
        mark_sent(self.engine, outbox, outbox_ids)
