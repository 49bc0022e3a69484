"""The orders use cases: place (validate -> reserve -> store + outbox -> publish), cancel, replace, read, and
apply execution reports. Plain Python over the ports in :mod:`mybroker.orders.ports`; adapters are injected.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from mybroker.b3.session import Phase, phase_at, trading_date
from mybroker.contracts.engine import (
    CancelOrderCommand,
    ExecutionReportMessage,
    NewOrderCommand,
    ReplaceOrderCommand,
    command_routing_key,
    replace_client_order_id,
)
from mybroker.contracts.orders import TOPIC, Fill, OrderEvent, OrderEventType, OrderStatus
from mybroker.fees import b3_fees_cents
from mybroker.orders.domain import (
    BatchResult,
    Emitted,
    Order,
    OrderError,
    PlaceRequest,
    Transition,
    apply_report,
    sort_reports,
    split_ticker,
    validate,
    validate_replace,
)
from mybroker.orders.ports import (
    ConcurrentChange,
    DuplicateClientOrderId,
    Instruments,
    ReferencePrices,
    Repository,
    Wallet,
)
from mybroker.outbox import OutboxMessage, Publisher, publish_and_mark
from mybroker.outbox import sweep as sweep_outbox

log = logging.getLogger(__name__)
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-publisher")  # starts on first use
ENGINE_EXCHANGE = "engine.input"
Clock = Callable[[], datetime]


class WalletRefused(OrderError):
    """The wallet said no (422 INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION): passed through as is."""


class WalletUnavailable(OrderError):
    def __init__(self, message: str) -> None:
        super().__init__("WALLET_UNAVAILABLE", message, status=503)


class OrderOutcomeUnknown(OrderError):
    """The store failed and reading the order back failed too: whether it was placed is not known yet. Nothing
    is released; the reservation sweeper settles it (a hold whose order is absent after its window goes)."""

    def __init__(self, order_id: str) -> None:
        super().__init__("ORDER_OUTCOME_UNKNOWN", f"order {order_id} may or may not have been placed: read "
                         "GET /orders before placing it again (a clientOrderId makes the retry safe)", status=503)
        self.order_id = order_id


def _background() -> ThreadPoolExecutor:
    """One thread per process: background publications run one after the other, in the order submitted."""
    return _executor


def order_event(order: Order, emitted: Emitted, seq: int, occurred_at: datetime) -> OrderEvent:
    f = emitted.fill
    # a fill settles from its own session (a GTC/GTD order fills sessions after it was placed)
    trade_day = order.trade_date if f is None else trading_date(f.occurred_at)
    return OrderEvent(
        event_id=f"{order.order_id}:{seq}", event_type=OrderEventType(emitted.event_type), order_id=order.order_id,
        account_id=order.account_id, instrument=order.instrument, side=order.side, order_type=order.order_type,
        time_in_force=order.time_in_force, quantity=order.quantity, price_cents=order.effective_price_cents,
        status=order.status, cum_quantity=order.cum_quantity, leaves_quantity=order.leaves_quantity,
        avg_price_cents=order.avg_price_cents,
        fill=None if f is None else Fill(exec_id=f.exec_id, trade_id=f.trade_id, quantity=f.quantity,
                                         price_cents=f.price_cents, fees_cents=f.fees_cents),
        reason=emitted.reason, replace_seq=emitted.replace_seq, trade_date=trade_day.isoformat(),
        occurred_at=occurred_at,
    )


def event_message(event: OrderEvent) -> OutboxMessage:
    return OutboxMessage("kafka", TOPIC, event.account_id, event.event_id, event.to_json())


def command_message(command: NewOrderCommand | CancelOrderCommand | ReplaceOrderCommand) -> OutboxMessage:
    return OutboxMessage("rabbitmq", ENGINE_EXCHANGE, command_routing_key(command.instrument), command.command_id,
                         command.model_dump_json().encode())


def events_of(transition: Transition, before_seq: int, occurred_at: datetime) -> list[OutboxMessage]:
    return [event_message(order_event(transition.order, e, before_seq + i + 1, occurred_at))
            for i, e in enumerate(transition.events)]


@dataclass
class OrdersService:
    repository: Repository
    instruments: Instruments
    prices: ReferencePrices
    wallet: Wallet
    publisher: Publisher
    clock: Clock = lambda: datetime.now(UTC)
    allow_closed_market: bool = False
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    # events (Kafka) published after the answer, by one background thread in outbox order, then marked sent;
    # engine commands (RabbitMQ) stay on the request path. Whatever a freeze or a crash leaves unsent is the
    # sweeper's, as for any publishing failure.
    background_events: bool = False

    # --- place ---------------------------------------------------------------------------------------
    def place(self, account_id: str, authorization: str, req: PlaceRequest) -> tuple[Order, bool]:
        """The order (and True when this call created it). A clientOrderId seen before returns its order when
        the request is the same, and refuses it (409 DUPLICATE_CLIENT_ORDER_ID) when not.

        The saga: reserve (the wallet holds cash or shares for the order id) -> store the order and its outbox
        (the engine command, order.placed) in one transaction -> publish. ``authorization`` (the user's token)
        only reads the assets catalog; the wallet is called as this service."""
        digest = req.request_hash()
        if req.client_order_id:
            existing = self.repository.by_client_order_id(account_id, req.client_order_id)
            if existing is not None:
                return self._same_request(existing, digest), False
        now = self.clock()
        today = trading_date(now)
        if not self.allow_closed_market and phase_at(now) is Phase.CLOSED:
            raise OrderError("MARKET_CLOSED", "the B3 session is closed", field="ticker")
        base, _ = split_ticker(req.ticker)
        rules = self.instruments.rules(base, authorization)
        if rules is None:
            raise OrderError("UNKNOWN_INSTRUMENT", f"no instrument {req.ticker.upper()}", field="ticker")
        checked = validate(req, rules, self.prices.reference_cents(base), today)
        order_id = self.new_id()
        order = Order(
            order_id=order_id, account_id=account_id, client_order_id=req.client_order_id or order_id,
            instrument=checked.instrument, side=req.side, order_type=req.order_type,
            time_in_force=req.time_in_force, quantity=req.quantity, price_cents=checked.price_cents,
            stop_price_cents=checked.stop_price_cents, protection_price_cents=checked.protection_price_cents,
            display_quantity=req.display_quantity or 0, min_quantity=req.min_quantity or 0,
            expire_date=req.expire_date, self_trade_prevention=req.self_trade_prevention, trade_date=today,
            created_at=now, updated_at=now, leaves_quantity=req.quantity, engine_client_order_id=order_id,
            request_hash=digest, event_seq=1,
        )
        # an unclear answer (timeout) raises with the hold possibly made: the sweeper releases it, as the order
        # is never stored
        self.wallet.reserve(account_id, order_id, order.instrument, order.side.value, order.quantity,
                            checked.reservation_price_cents)
        command = NewOrderCommand(
            command_id=f"{order_id}:new", instrument=order.instrument, client_order_id=order_id,
            investor_id=account_id, side=order.side, order_type=order.order_type,
            time_in_force=order.time_in_force, quantity=order.quantity, price_cents=order.price_cents,
            stop_price_cents=order.stop_price_cents, protection_price_cents=order.protection_price_cents,
            display_quantity=order.display_quantity, min_quantity=order.min_quantity,
            expire_date=order.expire_date, self_trade_prevention=order.self_trade_prevention,
        )
        placed = event_message(order_event(order, Emitted(OrderEventType.PLACED.value), 1, now))
        try:
            stored = self.repository.insert(order, [command_message(command), placed])
        except DuplicateClientOrderId as dup:  # a concurrent twin won the race: undo ours, answer with theirs
            self._release_quietly(account_id, order_id)
            return self._same_request(dup.existing, digest), False
        except Exception as exc:
            return self._resolve_unclear_store(order, exc), True
        self._publish(stored)
        return order, True

    def _resolve_unclear_store(self, order: Order, exc: Exception) -> Order:
        """The insert raised, which does not say whether it committed (a lost connection during COMMIT): read
        the order back, never guess. There: it is placed (its outbox goes out with the outbox sweeper). Certainly
        absent: release the hold and refuse. Unreadable too: release nothing; the reservation sweeper decides."""
        log.warning("storing order %s failed (%s): reading it back", order.order_id, exc)
        try:
            found = self.repository.read_back(order.order_id)
        except Exception:
            log.exception("reading order %s back failed: its hold is left to the reservation sweeper",
                          order.order_id)
            raise OrderOutcomeUnknown(order.order_id) from exc
        if found is not None:
            log.warning("order %s was stored after all: its outbox is left to the outbox sweeper", order.order_id)
            return found
        self._release_quietly(order.account_id, order.order_id)
        raise OrderError("ORDERS_UNAVAILABLE", "the order could not be stored; nothing was placed or held",
                         status=503) from exc
    def _same_request(self, existing: Order, digest: str) -> Order:
        if existing.request_hash != digest:
            raise OrderError("DUPLICATE_CLIENT_ORDER_ID", "this clientOrderId was used for a different order",
                             status=409, field="clientOrderId")
        return existing

    def _release_quietly(self, account_id: str, order_id: str) -> None:
        try:
            self.wallet.release(account_id, order_id)
        except Exception:  # the order is certainly not stored: the reservation sweeper releases it later
            log.exception("could not release the reservation of order %s: left to the sweeper", order_id)

    def _publish(self, stored: Sequence[OutboxMessage]) -> None:
        if not stored:
            return
        if not self.background_events:
            publish_and_mark(self.repository, self.publisher, stored)  # never raises: the sweeper has the rest
            return
        first_event = next((i for i, m in enumerate(stored) if m.destination == "kafka"), len(stored))
        head, tail = stored[:first_event], stored[first_event:]
        sent = self._publish_quietly(head) if head else []
        if len(sent) < len(head):  # stopped at a failure: what follows waits for the sweeper, in order
            tail = []
        _background().submit(self._publish_then_mark, sent, tail)

    def _publish_quietly(self, messages: Sequence[OutboxMessage]) -> list[int]:
        try:
            return self.publisher.publish(messages)
        except Exception:  # the sweeper publishes what is left
            log.exception("publishing the outbox failed; the sweeper will retry")
            return []

    def _publish_then_mark(self, sent: list[int], rest: Sequence[OutboxMessage]) -> None:
        """In the background thread: publish ``rest`` (events), then mark everything published as sent."""
        try:
            done = sent + (self._publish_quietly(rest) if rest else [])
            if done:
                self.repository.mark_sent(done)
        except Exception:  # rows left unmarked are published again by the sweeper; consumers dedupe
            log.exception("marking the outbox sent failed; the sweeper will publish it again")

    # --- read ----------------------------------------------------------------------------------------
    def get(self, account_id: str, order_id: str) -> Order:
        order = self.repository.get(account_id, order_id)
        if order is None:
            raise OrderError("ORDER_NOT_FOUND", "no such order", status=404)
        return order

    def read_back(self, order_id: str) -> Order:
        """Any account's order by id, for a service (the reservation sweeper): 404 means certainly not stored
        (a locking read: a commit still in flight is waited for, not missed)."""
        order = self.repository.read_back(order_id)
        if order is None:
            raise OrderError("ORDER_NOT_FOUND", "no such order", status=404)
        return order

    def search(self, account_id: str, status: OrderStatus | None, ticker: str | None, day: date | None,
               limit: int, offset: int) -> tuple[list[Order], int]:
        return self.repository.search(account_id, status.value if status else None,
                                      ticker.upper() if ticker else None, day, limit, offset)

    # --- cancel / replace ----------------------------------------------------------------------------
    def cancel(self, account_id: str, order_id: str) -> Order:
        order = self.get(account_id, order_id)
        if order.is_terminal:
            raise OrderError("ORDER_NOT_CANCELABLE", f"the order is {order.status.value}", status=409)
        n = order.event_seq
        command = CancelOrderCommand(command_id=f"{order_id}:cancel:{n}", instrument=order.instrument,
                                     client_order_id=order.engine_client_order_id)
        updated = replace(order, updated_at=self.clock())
        self._store_request(updated, order.replace_seq, [command_message(command)])
        return updated

    def replace(self, account_id: str, authorization: str, order_id: str, quantity: int | None,
                price_cents: int | None) -> Order:
        """Widen the hold to cover the new quantity and price (the wallet only widens on this call), then send
        the replace. The hold comes back down only on the engine's answer: ``order.replaced`` (to the new
        order) or ``order.replace_rejected`` (to the standing one); the order's end releases it in any case."""
        order = self.get(account_id, order_id)
        if order.is_terminal:
            raise OrderError("ORDER_NOT_REPLACEABLE", f"the order is {order.status.value}", status=409)
        base, _ = split_ticker(order.instrument)
        rules = self.instruments.rules(base, authorization)
        if rules is None:
            raise OrderError("UNKNOWN_INSTRUMENT", f"no instrument {base}", field="ticker")
        new_qty, new_price = validate_replace(order, quantity, price_cents, rules, self.prices.reference_cents(base))
        n = order.replace_seq + 1
        self.wallet.adjust(account_id, order_id, new_qty, new_price or order.protection_price_cents, n)
        new_coid = replace_client_order_id(order_id, n)
        command = ReplaceOrderCommand(command_id=f"{order_id}:replace:{n}", instrument=order.instrument,
                                      orig_client_order_id=order.engine_client_order_id, client_order_id=new_coid,
                                      quantity=new_qty, price_cents=new_price if price_cents is not None else 0)
        updated = replace(order, replace_seq=n, engine_client_order_id=new_coid, updated_at=self.clock())
        # a failure here leaves the hold widened, never short: it covers both the standing order and the replace
        # that was not sent, and the order's next event (replaced, replace_rejected, a fill, its end) resets it
        self._store_request(updated, order.replace_seq, [command_message(command)])
        return updated

    def _store_request(self, order: Order, expected_replace_seq: int, outbox: list[OutboxMessage]) -> None:
        try:
            stored = self.repository.update(order, expected_replace_seq, outbox)
        except ConcurrentChange as exc:
            raise OrderError("ORDER_CHANGED", "the order changed meanwhile: read it and try again",
                             status=409) from exc
        # the engine must see the order's earlier commands first: a cancel that overtook its order's NEW (left
        # unsent by a broker outage) would be refused as UNKNOWN_ORDER and lost while the NEW later went live
        try:
            earlier = self.repository.unsent_commands(order.order_id, before=stored[0].outbox_id) if stored else []
        except Exception:  # cannot tell what is unsent: the sweeper publishes everything, oldest first
            log.exception("reading order %s's unsent commands failed: left to the outbox sweeper", order.order_id)
            return
        self._publish([*earlier, *stored])

    # --- execution reports ---------------------------------------------------------------------------
    def handle_reports(self, reports: Iterable[ExecutionReportMessage]) -> BatchResult:
        """Applies each report once (dedupe on (instrument, exec_id) in the same transaction), in exec id order
        per instrument, then publishes the events. Raises only on transient errors (the batch is redelivered)."""
        result = BatchResult()
        to_publish: list[OutboxMessage] = []
        for report in sort_reports(list(reports)):
            stored = self.repository.apply_report(report, functools.partial(self._transition, report=report))
            if stored is None:
                result.duplicates += 1
                continue
            result.applied += 1
            result.order_ids.add(report.order_id)
            to_publish.extend(stored)
        self._publish(to_publish)
        return result

    def _transition(self, order: Order, *, report: ExecutionReportMessage) -> tuple[Transition, list[OutboxMessage]]:
        occurred = datetime.fromtimestamp(report.transact_time_ns / 1e9, UTC) if report.transact_time_ns \
            else self.clock()
        fees = 0
        if report.last_quantity > 0:
            # the fee of the order's filled value so far, less what its earlier fills paid: rounded up once per
            # order, as the wallet's hold is, never once per fill (100 one-share fills of a fractional buy would
            # pay 100 cents where the hold covered 23, and the last fill would meet the floor)
            day, before = trading_date(occurred), order.filled_value_cents
            fees = b3_fees_cents(before + report.last_quantity * report.last_price_cents, day) \
                - b3_fees_cents(before, day)
        t = apply_report(order, report, fees, occurred)
        t = Transition(replace(t.order, updated_at=self.clock()), t.events, t.fill)
        return t, events_of(t, order.event_seq, occurred)

    # --- the sweeper ---------------------------------------------------------------------------------
    def sweep(self, min_age: timedelta = timedelta(seconds=5), limit: int = 500) -> int:
        """Publishes outbox rows left behind (a crash or a broker outage between commit and publish)."""
        return sweep_outbox(self.repository, self.publisher, self.clock() - min_age, limit)
