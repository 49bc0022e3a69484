"""Money bugs the fault suite found, pinned at the unit level (these run in the default suite, no system needed).

1. RabbitMQ killed under load (docs/faults.md): an order's NEW command stayed in the outbox while RabbitMQ was down;
   its cancel, sent after RabbitMQ came back, reached the engine first and was refused as UNKNOWN_ORDER. The
   orders service took that refusal for the order's own rejection (REJECTED, ``order.rejected``: the wallet gave
   the hold back), then the NEW arrived, rested and traded: a fill for an order the wallet had closed
   (``FLOOR_REFUSED``), 100 shares delivered by the exchange and never taken from the seller's wallet."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mybroker.contracts.engine import ExecType, ExecutionReportMessage, OrderType, Side, TimeInForce
from mybroker.contracts.orders import OrderStatus
from mybroker.orders.domain import Order, apply_report

NOW = datetime(2026, 12, 21, 15, 9, tzinfo=UTC)


def pending(order_id: str = "o1") -> Order:
    return Order(order_id=order_id, account_id="acc", client_order_id="c1", instrument="PETR4", side=Side.SELL,
                 order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, quantity=100, price_cents=3472,
                 trade_date=date(2026, 12, 21), created_at=NOW, leaves_quantity=100, engine_client_order_id=order_id,
                 event_seq=1)


def report(exec_id: int, exec_type: ExecType, reason: str = "", cum: int = 0, last: int = 0,
           engine_view: bool = True) -> ExecutionReportMessage:
    """``engine_view=False``: what the engine says about an order it does not hold (no investor, no terms)."""
    return ExecutionReportMessage(
        exec_id=exec_id, instrument="PETR4", exec_type=exec_type, engine_order_id=7 if engine_view else 0,
        client_order_id="o1", investor_id="acc" if engine_view else "", side=Side.SELL, order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY, price_cents=3472 if engine_view else 0,
        order_quantity=100 if engine_view else 0, cum_quantity=cum, leaves_quantity=100 - cum if engine_view else 0,
        avg_price_cents=3477 if cum else 0, last_price_cents=3477 if last else 0, last_quantity=last,
        trade_id=746 if last else 0, reason=reason, transact_time_ns=1_797_000_000_000_000_000 + exec_id)


def test_a_cancel_refused_as_unknown_before_the_order_arrives_does_not_reject_the_order() -> None:
    o, events = pending(), list[str]()
    for r in (report(57185, ExecType.REJECTED, "UNKNOWN_ORDER", engine_view=False),  # the cancel, first
              report(57201, ExecType.NEW), report(57203, ExecType.FILLED, cum=100, last=100)):
        t = apply_report(o, r, 80, NOW)
        o, events = t.order, [*events, *(e.event_type for e in t.events)]
    assert "order.rejected" not in events
    assert events == ["order.accepted", "order.filled"]
    assert (o.status, o.cum_quantity, o.leaves_quantity) == (OrderStatus.FILLED, 100, 0)


def test_the_engine_rejecting_the_order_itself_still_rejects_it() -> None:
    t = apply_report(pending(), report(57185, ExecType.REJECTED, "PRICE_OUT_OF_BAND"), 0, NOW)
    assert t.order.status is OrderStatus.REJECTED
    assert [e.event_type for e in t.events] == ["order.rejected"]
