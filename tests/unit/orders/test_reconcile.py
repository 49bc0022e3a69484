from __future__ import annotations

from datetime import UTC, date, datetime

from mybroker.contracts.engine import OrderType, Side, TimeInForce
from mybroker.contracts.orders import OrderStatus
from mybroker.orders.domain import Order
from mybroker.orders.reconcile import compare


def order(oid: str, leaves: int, status: OrderStatus = OrderStatus.NEW, coid: str = "") -> Order:
    return Order(order_id=oid, account_id="a", client_order_id=oid, instrument="PETR4", side=Side.BUY,
                 order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=300, price_cents=3500,
                 trade_date=date(2026, 11, 25), created_at=datetime(2026, 11, 25, tzinfo=UTC), status=status,
                 leaves_quantity=leaves, engine_client_order_id=coid or oid)


def test_agreeing_views_have_no_difference() -> None:
    assert compare([order("o1", 300), order("o2", 100, coid="o2~1")], {"PETR4": {"o1": 300, "o2~1": 100}}) == []


def test_differences() -> None:
    diffs = compare([order("o1", 300), order("o2", 100), order("o3", 100, OrderStatus.PENDING_NEW),
                     order("o4", 100, coid="o4~2")],
                    {"PETR4": {"o1": 200, "x9": 100, "o4~1": 100}})
    kinds = {(d.kind, d.order_id) for d in diffs}
    assert kinds == {("LEAVES_MISMATCH", "o1"), ("MISSING_IN_ENGINE", "o2"), ("UNKNOWN_TO_BROKER", "x9"),
                     ("CLIENT_ORDER_ID_MISMATCH", "o4")}
