"""The place/replace saga of :class:`mybroker.orders.service.OrdersService` over in-memory implementations of
its own ports: reserve -> store (order + outbox) -> publish; an unclear store is read back, never guessed; a
replace widens the hold before it is sent and never narrows it itself; a fill settles from its own session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from mybroker.b3.session import trading_date
from mybroker.contracts.engine import ExecType, ExecutionReportMessage, OrderType, Side, TimeInForce
from mybroker.contracts.orders import OrderEvent, OrderEventType
from mybroker.orders.domain import FillRecord, InstrumentRules, Order, OrderError, PlaceRequest
from mybroker.orders.ports import DuplicateClientOrderId, ReportApplier
from mybroker.orders.service import OrderOutcomeUnknown, OrdersService, WalletRefused
from mybroker.outbox import OutboxMessage

# a Wednesday in the continuous session (14:00 UTC = 11:00 in Brasília)
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


class LostCommit(Exception):
    """The connection died during COMMIT: the caller cannot tell whether the transaction committed."""


@dataclass
class Repo:
    orders: dict[str, Order] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    fail_insert: Exception | None = None
    commit_then_fail: bool = False  # the commit lands, then the answer is lost
    fail_read_back: bool = False
    fail_update: bool = False
    calls: list[str] = field(default_factory=list)
    sent_ids: set[int] = field(default_factory=set)

    def _store(self, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        stored = [replace(m, outbox_id=len(self.outbox) + i + 1) for i, m in enumerate(messages)]
        self.outbox += stored
        return stored

    def get(self, account_id: str, order_id: str) -> Order | None:
        o = self.orders.get(order_id)
        return o if o is not None and o.account_id == account_id else None

    def read_back(self, order_id: str) -> Order | None:
        self.calls.append("read_back")
        if self.fail_read_back:
            raise LostCommit("the database is gone")
        return self.orders.get(order_id)

    def by_client_order_id(self, account_id: str, client_order_id: str) -> Order | None:
        return next((o for o in self.orders.values()
                     if o.account_id == account_id and o.client_order_id == client_order_id), None)

    def insert(self, order: Order, outbox: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        self.calls.append("insert")
        if self.commit_then_fail:
            self.orders[order.order_id] = order
            self._store(outbox)
            raise LostCommit("server closed the connection during COMMIT")
        if self.fail_insert is not None:
            raise self.fail_insert
        self.orders[order.order_id] = order
        return self._store(outbox)

    def update(self, order: Order, expected_replace_seq: int, outbox: Sequence[OutboxMessage],
               ) -> list[OutboxMessage]:
        self.calls.append("update")
        if self.fail_update:
            raise LostCommit("gone")
        self.orders[order.order_id] = order
        return self._store(outbox)

    def apply_report(self, report: ExecutionReportMessage, applier: ReportApplier) -> list[OutboxMessage] | None:
        o = self.orders.get(report.order_id)
        if o is None:
            return None
        t, messages = applier(o)
        self.orders[o.order_id] = t.order
        return self._store(messages)

    def search(self, *a: object) -> tuple[list[Order], int]:
        return [], 0

    def fills(self, order_id: str) -> list[FillRecord]:
        return []

    def unsent(self, limit: int, older_than: datetime) -> list[OutboxMessage]:
        return []

    def unsent_commands(self, order_id: str, before: int) -> list[OutboxMessage]:
        return [m for m in self.outbox if m.outbox_id < before and m.outbox_id not in self.sent_ids
                and m.destination == "rabbitmq" and m.message_id.startswith(f"{order_id}:")]

    def mark_sent(self, outbox_ids: Sequence[int]) -> None:
        self.sent_ids.update(outbox_ids)

    def open_orders(self) -> list[Order]:
        return []


@dataclass
class Holds:
    """The wallet's reservation steps as the orders service sees them; holds in cents per order."""

    held: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # order id -> (account, qty, price)
    calls: list[tuple[str, str]] = field(default_factory=list)
    replace_seqs: list[int] = field(default_factory=list)
    refuse: bool = False
    fail_release: bool = False

    def reserve(self, account_id: str, order_id: str, ticker: str, side: str, quantity: int,
                price_cents: int) -> None:
        self.calls.append(("reserve", order_id))
        if self.refuse:
            raise WalletRefused("INSUFFICIENT_FUNDS", "no", status=422)
        self.held[order_id] = (account_id, quantity, price_cents)

    def adjust(self, account_id: str, order_id: str, quantity: int, price_cents: int, replace_seq: int) -> None:
        self.calls.append(("adjust", order_id))
        self.replace_seqs.append(replace_seq)
        acc, q, p = self.held[order_id]
        assert acc == account_id
        self.held[order_id] = (acc, max(q, quantity), max(p, price_cents))  # widens only

    def release(self, account_id: str, order_id: str) -> None:
        self.calls.append(("release", order_id))
        if self.fail_release:
            raise OSError("wallet unreachable")
        self.held.pop(order_id, None)


class Rules:
    def rules(self, ticker: str, authorization: str) -> InstrumentRules | None:
        return InstrumentRules(ticker)


class Prices:
    def reference_cents(self, ticker: str) -> int | None:
        return 3500


@dataclass
class Sent:
    messages: list[OutboxMessage] = field(default_factory=list)
    down: bool = False  # the broker is unreachable

    def publish(self, messages: Sequence[OutboxMessage]) -> list[int]:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.messages += messages
        return [m.outbox_id for m in messages]

    def events(self) -> list[OrderEvent]:
        return [OrderEvent.model_validate_json(m.body) for m in self.messages if m.destination == "kafka"]


@dataclass
class World:
    repo: Repo
    holds: Holds
    sent: Sent
    svc: OrdersService
    clock: list[datetime]


@pytest.fixture
def w() -> World:
    repo, holds, sent = Repo(), Holds(), Sent()
    clock = [NOW]
    ids = iter(f"o{i}" for i in range(1, 100))
    svc = OrdersService(repository=repo, instruments=Rules(), prices=Prices(), wallet=holds, publisher=sent,
                        clock=lambda: clock[0], new_id=lambda: next(ids))
    return World(repo, holds, sent, svc, clock)


def buy(**kw: object) -> PlaceRequest:
    base: dict[str, object] = {"ticker": "PETR4", "side": Side.BUY, "order_type": OrderType.LIMIT,
                               "quantity": 1000, "price_cents": 3500, "display_quantity": 500}
    base.update(kw)
    return PlaceRequest(**base)  # type: ignore[arg-type]


# --- place --------------------------------------------------------------------------------------------

def test_place_reserves_then_stores_then_publishes(w: World) -> None:
    _order, created = w.svc.place("acc", "Bearer user", buy())
    assert created and w.holds.held == {"o1": ("acc", 1000, 3500)}
    assert w.repo.calls == ["insert"] and "o1" in w.repo.orders
    assert [m.message_id for m in w.sent.messages] == ["o1:new", "o1:1"]


def test_a_refused_reservation_stores_nothing(w: World) -> None:
    w.holds.refuse = True
    with pytest.raises(WalletRefused):
        w.svc.place("acc", "Bearer user", buy())
    assert w.repo.calls == [] and w.sent.messages == []


def test_a_lost_commit_that_landed_carries_on_and_keeps_the_hold(w: World) -> None:
    w.repo.commit_then_fail = True
    order, created = w.svc.place("acc", "Bearer user", buy())
    assert created and order.order_id == "o1"
    assert w.repo.calls == ["insert", "read_back"]
    assert w.holds.held == {"o1": ("acc", 1000, 3500)}  # the order is live: its hold stays
    assert ("release", "o1") not in w.holds.calls
    assert [m.message_id for m in w.repo.outbox] == ["o1:new", "o1:1"]  # the outbox sweeper publishes these


def test_a_store_failure_with_the_order_certainly_absent_releases(w: World) -> None:
    w.repo.fail_insert = LostCommit("lost")
    with pytest.raises(OrderError) as e:
        w.svc.place("acc", "Bearer user", buy())
    assert (e.value.code, e.value.status) == ("ORDERS_UNAVAILABLE", 503)
    assert w.repo.calls == ["insert", "read_back"]
    assert w.holds.held == {} and w.holds.calls == [("reserve", "o1"), ("release", "o1")]
    assert w.sent.messages == []


def test_an_unreadable_outcome_releases_nothing(w: World) -> None:
    w.repo.commit_then_fail = True
    w.repo.fail_read_back = True
    with pytest.raises(OrderOutcomeUnknown) as e:
        w.svc.place("acc", "Bearer user", buy())
    assert (e.value.code, e.value.status) == ("ORDER_OUTCOME_UNKNOWN", 503)
    assert w.holds.calls == [("reserve", "o1")]  # the reservation sweeper decides later
    assert w.holds.held == {"o1": ("acc", 1000, 3500)}


def test_a_failed_release_of_an_absent_order_is_left_to_the_sweeper(w: World) -> None:
    w.repo.fail_insert = LostCommit("lost")
    w.holds.fail_release = True
    with pytest.raises(OrderError) as e:
        w.svc.place("acc", "Bearer user", buy())
    assert e.value.code == "ORDERS_UNAVAILABLE"
    assert w.holds.calls == [("reserve", "o1"), ("release", "o1")]


def test_a_concurrent_twin_releases_ours_and_answers_theirs(w: World) -> None:
    twin, _ = w.svc.place("acc", "Bearer user", buy(client_order_id="c-1"))
    w.repo.fail_insert = DuplicateClientOrderId(twin)
    w.repo.orders.clear()  # not visible to the lookup before the insert: the race
    again, created = w.svc.place("acc", "Bearer user", buy(client_order_id="c-1"))
    assert not created and again.order_id == twin.order_id
    assert w.holds.calls[-1] == ("release", "o2") and "o2" not in w.holds.held and "o1" in w.holds.held


# --- replace ------------------------------------------------------------------------------------------

def report(order: Order, exec_id: int, exec_type: ExecType, *, coid: str, orig: str = "", qty: int | None = None,
           price: int | None = None, last_qty: int = 0, last_px: int = 0, cum: int = 0, reason: str = "",
           at: datetime = NOW) -> ExecutionReportMessage:
    q = order.quantity if qty is None else qty
    return ExecutionReportMessage(
        exec_id=exec_id, instrument=order.instrument, exec_type=exec_type, engine_order_id=1, client_order_id=coid,
        orig_client_order_id=orig, investor_id=order.account_id, side=order.side, order_type=order.order_type,
        time_in_force=order.time_in_force, price_cents=order.price_cents if price is None else price,
        order_quantity=q, cum_quantity=cum, leaves_quantity=q - cum, avg_price_cents=last_px,
        last_price_cents=last_px, last_quantity=last_qty, trade_id=exec_id if last_qty else 0, reason=reason,
        transact_time_ns=int(at.timestamp() * 1e9))


def live(w: World) -> Order:
    order, _ = w.svc.place("acc", "Bearer user", buy())
    w.svc.handle_reports([report(order, 1, ExecType.NEW, coid="o1")])
    return w.repo.orders["o1"]


def test_replace_widens_the_hold_before_sending_and_never_narrows_it(w: World) -> None:
    live(w)
    w.svc.replace("acc", "Bearer user", "o1", 400, None)
    assert w.holds.calls[-1] == ("adjust", "o1")
    assert w.holds.held["o1"] == ("acc", 1000, 3500)  # a smaller replace does not shrink the hold before the engine
    assert w.sent.messages[-1].message_id == "o1:replace:1"
    w.svc.replace("acc", "Bearer user", "o1", 2000, 3600)
    assert w.holds.held["o1"] == ("acc", 2000, 3600)
    assert w.holds.replace_seqs == [1, 2]  # each replace names itself, as the engine's <order_id>~n does


def test_a_replace_that_failed_to_store_leaves_the_hold_wide(w: World) -> None:
    live(w)
    w.repo.fail_update = True
    with pytest.raises(LostCommit):
        w.svc.replace("acc", "Bearer user", "o1", 2000, None)
    assert w.holds.held["o1"] == ("acc", 2000, 3500)  # covers both: never short
    assert [c for c in w.holds.calls if c[0] == "adjust"] == [("adjust", "o1")]  # no narrowing call


def test_a_refused_replace_emits_replace_rejected_with_the_standing_terms(w: World) -> None:
    order = live(w)
    w.svc.replace("acc", "Bearer user", "o1", 400, None)
    w.svc.handle_reports([report(order, 2, ExecType.REJECTED, coid="o1~1", orig="o1", reason="INVALID_LOT")])
    ev = w.sent.events()[-1]
    assert ev.event_type is OrderEventType.REPLACE_REJECTED
    assert (ev.quantity, ev.price_cents, ev.reason, ev.replace_seq) == (1000, 3500, "INVALID_LOT", 1)
    assert ev.event_id == "o1:3"  # placed, accepted, replace_rejected: its own place in the order's sequence
    assert w.repo.orders["o1"].engine_client_order_id == "o1"


def test_an_accepted_replace_carries_the_new_total_quantity_and_price(w: World) -> None:
    order = live(w)
    w.svc.replace("acc", "Bearer user", "o1", 2000, 3600)
    w.svc.handle_reports([report(order, 2, ExecType.REPLACED, coid="o1~1", orig="o1", qty=2000, price=3600)])
    ev = w.sent.events()[-1]
    assert ev.event_type is OrderEventType.REPLACED and (ev.quantity, ev.price_cents) == (2000, 3600)
    assert ev.replace_seq == 1  # the wallet clears the pending terms of this replace only


# --- fills settle from their own session ----------------------------------------------------------------

def test_a_gtc_fill_carries_the_trade_date_of_the_fill(w: World) -> None:
    order, _ = w.svc.place("acc", "Bearer user", buy(time_in_force=TimeInForce.GTC, display_quantity=None))
    assert order.trade_date == date(2026, 11, 25)
    later = NOW + timedelta(days=2)  # Friday's session
    w.clock[0] = later
    w.svc.handle_reports([report(order, 1, ExecType.NEW, coid="o1"),
                          report(order, 2, ExecType.PARTIALLY_FILLED, coid="o1", last_qty=100, last_px=3500,
                                 cum=100, at=later)])
    events = w.sent.events()
    fill = next(e for e in events if e.event_type is OrderEventType.FILLED)
    assert fill.trade_date == trading_date(later).isoformat() == "2026-11-27"
    placed = next(e for e in events if e.event_type is OrderEventType.PLACED)
    assert placed.trade_date == "2026-11-25"


def test_fees_are_rounded_up_once_per_order_not_once_per_fill(w: World) -> None:
    # found in review: 1,000 @ R$35.00 filled as 100 fills of 10 shares. B3's 2.30 bps of each fill's R$350.00 is
    # 8.05 cents, 9 rounded up: 900 cents in all, where the hold covered the order's R$35,000.00 x 2.30 bps =
    # 805 cents exactly. Charged on the cumulative value, the fills pay 805 between them, the hold's figure.
    order, _ = w.svc.place("acc", "Bearer user", buy(display_quantity=None))
    w.svc.handle_reports([report(order, 1, ExecType.NEW, coid="o1")] + [
        report(order, n + 2, ExecType.FILLED if n == 99 else ExecType.PARTIALLY_FILLED, coid="o1", last_qty=10,
               last_px=3500, cum=10 * (n + 1)) for n in range(100)])
    fees = [e.fill.fees_cents for e in w.sent.events() if e.fill is not None]
    assert len(fees) == 100 and sum(fees) == 805
    assert set(fees) <= {8, 9}  # each fill pays its share, the rounding carried to the next


# --- the engine sees an order's commands in order ----------------------------------------------------------

def test_a_cancel_never_overtakes_its_orders_unsent_new(w: World) -> None:
    """Found by the fault suite (RabbitMQ killed): the NEW stayed in the outbox for the sweeper, the user's
    cancel went out at once, the engine refused it as UNKNOWN_ORDER, and the NEW then went live uncancelled."""
    w.sent.down = True
    order, _ = w.svc.place("acc", "Bearer user", buy())
    assert w.sent.messages == []  # the NEW waits in the outbox
    w.sent.down = False
    w.svc.cancel("acc", order.order_id)
    commands = [m.message_id for m in w.sent.messages if m.destination == "rabbitmq"]
    assert commands == ["o1:new", "o1:cancel:1"]


def test_a_replace_after_a_sent_new_is_sent_alone(w: World) -> None:
    order, _ = w.svc.place("acc", "Bearer user", buy())
    w.svc.replace("acc", "Bearer user", order.order_id, 800, None)
    commands = [m.message_id for m in w.sent.messages if m.destination == "rabbitmq"]
    assert commands == ["o1:new", "o1:replace:1"]  # the NEW once: it was marked sent
