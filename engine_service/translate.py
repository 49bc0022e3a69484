"""Between the wire contracts (``mybroker.contracts.engine``) and the core's records: nothing else."""

from __future__ import annotations

from mybroker.contracts.engine import (
    CancelOrderCommand,
    ExecutionReportMessage,
    NewOrderCommand,
    ReplaceOrderCommand,
)

from engine_service.core import CancelOrder, ExecutionReport, NewOrder, ReplaceOrder

Command = NewOrderCommand | CancelOrderCommand | ReplaceOrderCommand


def to_input(command: Command, order_ids: dict[str, int]) -> NewOrder | CancelOrder | ReplaceOrder:
    """``order_ids`` maps a client order id to the engine's order id (0 if unknown: the engine then
    rejects the cancel or replace with UNKNOWN_ORDER)."""
    if isinstance(command, NewOrderCommand):
        expire = command.expire_date
        return NewOrder(
            command.instrument, command.client_order_id, command.investor_id, command.side.value,
            command.quantity, command.price_cents, command.order_type.value, command.time_in_force.value,
            command.stop_price_cents, command.protection_price_cents, command.display_quantity,
            command.min_quantity, int(expire.strftime("%Y%m%d")) if expire else 0,
            command.self_trade_prevention.value,
        )
    if isinstance(command, CancelOrderCommand):
        return CancelOrder(command.instrument, order_ids.get(command.client_order_id, 0), command.client_order_id)
    return ReplaceOrder(command.instrument, order_ids.get(command.orig_client_order_id, 0), command.client_order_id,
                        command.quantity, command.price_cents, command.stop_price_cents)


def to_message(r: ExecutionReport) -> ExecutionReportMessage:
    return ExecutionReportMessage.model_validate({
        "exec_id": r.exec_id, "instrument": r.instrument, "exec_type": r.exec_type, "engine_order_id": r.order_id,
        "client_order_id": r.client_order_id, "orig_client_order_id": r.orig_client_order_id,
        "investor_id": r.investor_id, "side": r.side or "BUY", "order_type": r.order_type or "LIMIT",
        "time_in_force": r.tif or "DAY", "price_cents": r.price, "order_quantity": r.order_qty,
        "cum_quantity": r.cum_qty, "leaves_quantity": r.leaves_qty, "avg_price_cents": r.avg_price,
        "last_price_cents": r.last_price, "last_quantity": r.last_qty, "trade_id": r.trade_id, "reason": r.reason,
        "transact_time_ns": r.ts,
    })
