"""The wallet's domain on the in-memory store: ledger balancing, average price, reservation arithmetic with
duplicate and out-of-order events, and T+2 on B3 holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mybroker.b3.calendar import settlement_date
from mybroker.contracts.engine import OrderType, TimeInForce
from mybroker.contracts.engine import Side as OrderSide
from mybroker.contracts.orders import Fill, OrderEvent, OrderEventType, OrderStatus
from mybroker.fees import b3_fees_cents
from mybroker.wallet.ledger import BRL, PIX, Bucket, JournalEntry, Posting, UnbalancedEntry
from mybroker.wallet.memory import MemoryStore
from mybroker.wallet.positions import Cost
from mybroker.wallet.reservations import Side, base_ticker, buy_hold_cents
from mybroker.wallet.service import BuyingPower, EventOutcome, Wallet, WalletError

DAY = date(2026, 11, 24)  # a Tuesday
ACC = "acc-1"


def event(n: int, order: str, kind: OrderEventType, *, qty: int = 100, price: int = 1000, cum: int = 0,
          leaves: int = 100, fill: tuple[int, int] | None = None, side: OrderSide = OrderSide.BUY,
          status: OrderStatus = OrderStatus.NEW, trade_date: str = "2026-11-24", seq: int = 0) -> OrderEvent:
    f = None
    if fill is not None:
        f = Fill(exec_id=n, trade_id=n, quantity=fill[0], price_cents=fill[1],
                 fees_cents=b3_fees_cents(fill[0] * fill[1], DAY))
    return OrderEvent(event_id=f"{order}:{n}", event_type=kind, order_id=order, account_id=ACC, instrument="PETR4",
                      side=side, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                      quantity=qty, price_cents=price,
                      status=status, cum_quantity=cum, leaves_quantity=leaves, avg_price_cents=price, fill=f,
                      trade_date=trade_date, replace_seq=seq, occurred_at=datetime(2026, 11, 24, 14, tzinfo=UTC))


def bal(w: Wallet, bucket: Bucket, asset: str = BRL) -> int:
    return w.store.balances(ACC).get((bucket, asset), 0)


def assert_balanced(w: Wallet) -> None:
    assert w.reconcile() == []


def test_an_unbalanced_entry_is_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("k", ACC, "x", "r", "m", (Posting(ACC, Bucket.AVAILABLE, BRL, 5),
                                               Posting(PIX, Bucket.MAIN, BRL, -4)))


def test_deposit_is_idempotent_and_withdrawal_needs_available_cash() -> None:
    w = Wallet(MemoryStore())
    _, created = w.deposit(ACC, "k1", 10_000)
    _, again = w.deposit(ACC, "k1", 10_000)
    assert (created, again) == (True, False)
    with pytest.raises(WalletError) as e:
        w.deposit(ACC, "k1", 5)
    assert e.value.code == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(WalletError) as e:
        w.withdraw(ACC, "w1", 10_001)
    assert e.value.code == "INSUFFICIENT_FUNDS" and "R$100,00" in e.value.message
    w.withdraw(ACC, "w1", 4_000)
    assert bal(w, Bucket.AVAILABLE) == 6_000
    assert_balanced(w)


def test_fractional_ticker_is_the_same_holding() -> None:
    assert base_ticker("petr4f") == "PETR4" == base_ticker("PETR4")
    assert base_ticker("BOVA11F") == "BOVA11"
    with pytest.raises(ValueError):
        base_ticker("PETR")


def test_buy_reservation_fill_price_improvement_and_settlement() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    r, _ = w.reserve(ACC, "o1", "PETR4", Side.BUY, 100, 1000, DAY)
    assert r.reserved_cents == buy_hold_cents(100, 1000, DAY) == 100_000 + 23
    # a partial fill at a better price: the improvement returns to available at once
    w.apply_order_event(event(1, "o1", OrderEventType.FILLED, cum=40, leaves=60, fill=(40, 990),
                              status=OrderStatus.PARTIALLY_FILLED))
    fees40 = b3_fees_cents(40 * 990, DAY)
    assert bal(w, Bucket.PAYABLE) == 40 * 990 + fees40
    assert bal(w, Bucket.RESERVED) == buy_hold_cents(60, 1000, DAY)
    assert bal(w, Bucket.RECEIVABLE, "PETR4") == 40
    # the rest fills: nothing stays reserved
    w.apply_order_event(event(2, "o1", OrderEventType.FILLED, cum=100, leaves=0, fill=(60, 1000),
                              status=OrderStatus.FILLED))
    assert bal(w, Bucket.RESERVED) == 0
    spent = 40 * 990 + fees40 + 60 * 1000 + b3_fees_cents(60_000, DAY)
    assert bal(w, Bucket.AVAILABLE) == 200_000 - spent
    cost = w.store.costs(ACC)["PETR4"]
    assert cost == Cost(100, spent)  # fees are part of the average price
    assert_balanced(w)
    # T+2: nothing before, everything on the day, idempotent after
    assert w.settle_due(date(2026, 11, 25)) == 0
    assert w.settle_due(settlement_date(DAY)) == 2
    assert w.settle_due(settlement_date(DAY)) == 0
    assert bal(w, Bucket.PAYABLE) == 0 and bal(w, Bucket.AVAILABLE, "PETR4") == 100
    assert_balanced(w)


def test_sell_needs_shares_and_does_not_change_the_average() -> None:
    w = Wallet(MemoryStore(), BuyingPower(unsettled_shares=False))  # a broker that does not allow day trades
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "b", "PETR4", Side.BUY, 100, 1000, DAY)
    w.apply_order_event(event(1, "b", OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1000),
                              status=OrderStatus.FILLED))
    with pytest.raises(WalletError) as e:  # bought shares are not available before settlement
        w.reserve(ACC, "s", "PETR4F", Side.SELL, 10, 1200, DAY)
    assert e.value.code == "INSUFFICIENT_POSITION"
    w.settle_due(settlement_date(DAY))
    avg = w.store.costs(ACC)["PETR4"].average_price_cents
    r, _ = w.reserve(ACC, "s", "PETR4F", Side.SELL, 30, 1200, DAY)
    assert r.reserved_quantity == 30 and bal(w, Bucket.RESERVED, "PETR4") == 30
    w.apply_order_event(event(1, "s", OrderEventType.FILLED, side=OrderSide.SELL, qty=30, cum=30, leaves=0,
                              fill=(30, 1200), status=OrderStatus.FILLED))
    assert bal(w, Bucket.RECEIVABLE) == 36_000 - b3_fees_cents(36_000, DAY)
    assert w.store.costs(ACC)["PETR4"].quantity == 70
    assert w.store.costs(ACC)["PETR4"].average_price_cents == avg
    assert_balanced(w)


def test_insufficient_funds_and_duplicate_reservation() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 1_000)
    with pytest.raises(WalletError) as e:
        w.reserve(ACC, "o", "PETR4", Side.BUY, 1, 1000, DAY)  # 1000 + 1 cent of fees
    assert e.value.code == "INSUFFICIENT_FUNDS" and "R$10,00" in e.value.message
    w.deposit(ACC, "d2", 1)
    _, created = w.reserve(ACC, "o", "PETR4", Side.BUY, 1, 1000, DAY)
    _, again = w.reserve(ACC, "o", "PETR4", Side.BUY, 1, 1000, DAY)
    assert (created, again) == (True, False)
    with pytest.raises(WalletError) as e:
        w.reserve(ACC, "o", "PETR4", Side.BUY, 2, 1000, DAY)
    assert e.value.code == "DUPLICATE_RESERVATION" and e.value.status == 409
    assert_balanced(w)


def test_a_replace_widens_the_hold_and_only_the_engine_narrows_it() -> None:
    # holds, value + B3's 0.0230 % rounded up: 10 @ R$10.00 -> 10,003; 50 @ R$10.00 -> 50,012;
    # 5 @ R$9.00 -> 4,502; 200 @ R$10.00 -> 200,046 (more than the R$1,000.00 deposited)
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 100_000)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 10, 1000, DAY)
    assert bal(w, Bucket.RESERVED) == 10_003
    w.replace(ACC, "o", 50, 1000, 1)  # sent to the engine: the hold covers the wider terms at once
    assert bal(w, Bucket.RESERVED) == 50_012 and bal(w, Bucket.AVAILABLE) == 49_988
    with pytest.raises(WalletError) as e:  # the same replace, retried wider than the money there is
        w.replace(ACC, "o", 200, 1000, 1)
    assert e.value.code == "INSUFFICIENT_FUNDS" and bal(w, Bucket.RESERVED) == 50_012
    with pytest.raises(WalletError) as e:  # a second replace before the engine answered the first
        w.replace(ACC, "o", 5, 900, 2)
    assert (e.value.code, e.value.status) == ("REPLACE_PENDING", 409) and bal(w, Bucket.RESERVED) == 50_012
    # the engine accepts the first replace (50 @ R$10.00): they are the terms, and the hold is theirs
    w.apply_order_event(event(2, "o", OrderEventType.REPLACED, qty=50, price=1000, leaves=50, seq=1))
    assert bal(w, Bucket.RESERVED) == 50_012
    w.replace(ACC, "o", 5, 900, 2)  # a narrower replace: nothing is released before the engine answers
    assert bal(w, Bucket.RESERVED) == 50_012
    w.apply_order_event(event(3, "o", OrderEventType.REPLACED, qty=5, price=900, leaves=5, seq=2))
    assert bal(w, Bucket.RESERVED) == 4_502 and bal(w, Bucket.AVAILABLE) == 95_498
    with pytest.raises(WalletError) as e:  # the order is live: the saga's release may not touch its hold
        w.release(ACC, "o")
    assert (e.value.code, e.value.status) == ("RESERVATION_IN_USE", 409)
    w.apply_order_event(event(5, "o", OrderEventType.CANCELED, qty=5, price=900, leaves=0,
                              status=OrderStatus.CANCELED))
    assert bal(w, Bucket.RESERVED) == 0 and bal(w, Bucket.AVAILABLE) == 100_000
    with pytest.raises(WalletError) as e:
        w.release(ACC, "never")
    assert e.value.status == 404
    assert_balanced(w)


def test_a_late_refusal_of_an_older_replace_keeps_the_newer_ones_hold() -> None:
    # found in review: replace 1 (to R$12.00) refused, its order.replace_rejected still on its way while the
    # user sends replace 2 (R$12.00 again). The late refusal used to drop replace 2's terms: its 20,005 came
    # back to available, were withdrawn, and replace 2's fill at R$12.00 met the floor. Holds: 100 @ R$10.00
    # -> 100,023; 100 @ R$12.00 -> 120,028 (fees 27.6 up).
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 120_028)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 100, 1000, DAY)
    w.apply_order_event(event(1, "o", OrderEventType.ACCEPTED))
    w.replace(ACC, "o", 100, 1200, 1)
    with pytest.raises(WalletError):  # the wallet has not seen replace 1's answer: one at a time
        w.replace(ACC, "o", 100, 1200, 2)
    w.apply_order_event(event(2, "o", OrderEventType.REPLACE_REJECTED, seq=1))  # the standing 100 @ R$10.00
    assert bal(w, Bucket.RESERVED) == 100_023
    w.replace(ACC, "o", 100, 1200, 2)
    assert bal(w, Bucket.RESERVED) == 120_028
    w.apply_order_event(event(3, "o", OrderEventType.REPLACE_REJECTED, seq=1))  # redelivered late: no effect
    assert bal(w, Bucket.RESERVED) == 120_028 and bal(w, Bucket.AVAILABLE) == 0
    w.apply_order_event(event(4, "o", OrderEventType.REPLACED, price=1200, seq=2))
    fees = b3_fees_cents(120_000, DAY)
    w.apply_order_event(event(5, "o", OrderEventType.FILLED, price=1200, cum=100, leaves=0, fill=(100, 1200),
                              status=OrderStatus.FILLED))
    assert (bal(w, Bucket.RESERVED), bal(w, Bucket.AVAILABLE), bal(w, Bucket.PAYABLE)) == (0, 0, 120_000 + fees)
    assert_balanced(w)


def test_an_answer_that_arrives_after_a_newer_one_does_not_overwrite_its_terms() -> None:
    # replace 1 to R$9.00 accepted, then replace 2 to R$11.00 accepted; the event of replace 1 reaches the
    # wallet last (left to the outbox sweeper). The terms stay 100 @ R$11.00: hold 110,026 (fees 25.3 up).
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 100, 1000, DAY)
    w.apply_order_event(event(1, "o", OrderEventType.ACCEPTED))
    w.replace(ACC, "o", 100, 900, 1)
    w.apply_order_event(event(2, "o", OrderEventType.REPLACED, price=900, seq=1))
    w.replace(ACC, "o", 100, 1100, 2)
    w.apply_order_event(event(4, "o", OrderEventType.REPLACED, price=1100, seq=2))
    w.apply_order_event(event(3, "o", OrderEventType.REPLACED, price=900, seq=1))  # redelivered after
    assert bal(w, Bucket.RESERVED) == 110_026
    r = w.store.reservation(ACC, "o")
    assert r is not None and (r.price_cents, r.replace_seq, r.pending_quantity) == (1100, 2, None)
    assert_balanced(w)


def test_racing_requests_for_one_replace_keep_the_wider_terms() -> None:
    # two PATCHes read the order at once and both send replace 1; the orders service stores one of them (the
    # other gets 409 ORDER_CHANGED) and the wallet cannot tell which: its hold covers the wider
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 100, 1000, DAY)
    w.replace(ACC, "o", 100, 1100, 1)
    w.replace(ACC, "o", 100, 1050, 1)
    assert bal(w, Bucket.RESERVED) == 110_026
    w.apply_order_event(event(2, "o", OrderEventType.REPLACED, price=1100, seq=1))
    assert bal(w, Bucket.RESERVED) == 110_026
    assert_balanced(w)


def test_an_iceberg_replace_the_engine_refuses_keeps_its_hold() -> None:
    # the attack: an iceberg of 1,000 @ R$20.85 (hold 2,085,000 + 480 fees = 2,085,480) replaced to
    # 400 and refused by the engine: the hold still covers the 1,000 that stay on the book
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 3_000_000)
    w.reserve(ACC, "i", "PETR4", Side.BUY, 1000, 2085, DAY)
    w.apply_order_event(event(1, "i", OrderEventType.ACCEPTED, qty=1000, price=2085, leaves=1000))
    w.replace(ACC, "i", 400, 2085, 1)
    assert bal(w, Bucket.RESERVED) == 2_085_480
    w.apply_order_event(event(2, "i", OrderEventType.REPLACE_REJECTED, qty=1000, price=2085, leaves=1000))
    assert bal(w, Bucket.RESERVED) == 2_085_480 and bal(w, Bucket.AVAILABLE) == 3_000_000 - 2_085_480
    with pytest.raises(WalletError):
        w.withdraw(ACC, "all", 3_000_000 - 2_085_480 + 1)
    assert_balanced(w)


def test_an_orphan_hold_is_a_candidate_until_an_event_of_its_order_is_seen() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 100_000)
    w.reserve(ACC, "lost", "PETR4", Side.BUY, 10, 1000, DAY)
    w.reserve(ACC, "live", "PETR4", Side.BUY, 10, 1000, DAY)
    w.apply_order_event(event(1, "live", OrderEventType.PLACED, qty=10))
    later = datetime.now(UTC).replace(year=2100)
    assert [r.order_id for r in w.orphan_candidates(later)] == ["lost"]
    assert w.orphan_candidates(datetime(2000, 1, 1, tzinfo=UTC)) == []  # younger than the window
    w.release(ACC, "lost")
    assert w.orphan_candidates(later) == [] and bal(w, Bucket.RESERVED) == 10_003

def test_events_for_unknown_orders_are_recorded_and_move_nothing() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 100)
    ev = event(1, "ghost", OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1000), status=OrderStatus.FILLED)
    assert w.apply_order_event(ev) is EventOutcome.UNKNOWN_ORDER
    assert w.apply_order_event(ev) is EventOutcome.DUPLICATE
    assert w.store.balances(ACC) == {(Bucket.AVAILABLE, BRL): 100}
    assert_balanced(w)


def test_a_fill_arriving_after_the_cancel_is_still_paid_from_the_reservation() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 100, 1000, DAY)
    # the cancel says 30 were filled, but that fill has not arrived yet: keep what 30 can cost
    w.apply_order_event(event(3, "o", OrderEventType.CANCELED, cum=30, leaves=0, status=OrderStatus.CANCELED))
    assert bal(w, Bucket.RESERVED) == buy_hold_cents(30, 1000, DAY)
    w.apply_order_event(event(2, "o", OrderEventType.FILLED, cum=30, leaves=70, fill=(30, 1000),
                              status=OrderStatus.PARTIALLY_FILLED))
    assert bal(w, Bucket.RESERVED) == 0
    assert bal(w, Bucket.AVAILABLE) == 200_000 - 30_000 - b3_fees_cents(30_000, DAY)
    assert_balanced(w)


ORDER_QTY = 100
PRICE = 1000


@st.composite
def fill_sequences(draw: st.DrawFn) -> tuple[list[OrderEvent], int]:
    """An order's fills (prices at or under the limit), maybe a cancel, shuffled and with duplicates."""
    sizes = draw(st.lists(st.integers(1, 40), min_size=0, max_size=6))
    fills, cum = [], 0
    for i, q in enumerate(sizes):
        q = min(q, ORDER_QTY - cum)
        if q <= 0:
            break
        cum += q
        leaves = ORDER_QTY - cum
        price = draw(st.integers(900, PRICE))
        fills.append(event(i + 1, "o", OrderEventType.FILLED, cum=cum, leaves=leaves, fill=(q, price),
                           status=OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIALLY_FILLED))
    events = list(fills)
    if cum < ORDER_QTY and draw(st.booleans()):
        events.append(event(99, "o", OrderEventType.CANCELED, cum=cum, leaves=0, status=OrderStatus.CANCELED))
    events += draw(st.lists(st.sampled_from(events), max_size=3)) if events else []
    return draw(st.permutations(events)), cum


@settings(max_examples=150, deadline=None)
@given(fill_sequences())
def test_any_order_of_events_ends_in_the_same_balances(case: tuple[list[OrderEvent], int]) -> None:
    events, cum = case
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 500_000)
    w.reserve(ACC, "o", "PETR4", Side.BUY, ORDER_QTY, PRICE, DAY)
    for ev in events:
        w.apply_order_event(ev)
        assert_balanced(w)
    fills = {e.event_id: e.fill for e in events if e.fill is not None}
    spent = sum(f.quantity * f.price_cents + f.fees_cents for f in fills.values())
    ended = any(e.leaves_quantity == 0 for e in events)
    held = 0 if ended else buy_hold_cents(ORDER_QTY - cum, PRICE, DAY)
    # per-fill fees are rounded up, so a live order's hold may be a few cents under the exact need (the next
    # fill takes those from available); once the order ended nothing stays reserved
    assert held - len(fills) <= bal(w, Bucket.RESERVED) <= held
    assert bal(w, Bucket.PAYABLE) == spent
    assert bal(w, Bucket.AVAILABLE) + bal(w, Bucket.RESERVED) + spent == 500_000
    assert bal(w, Bucket.RECEIVABLE, "PETR4") == cum


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 500), st.integers(1, 100_000)), max_size=20))
def test_sells_never_change_the_average_price(ops: list[tuple[bool, int, int]]) -> None:
    c = Cost(0, 0)
    for is_buy, qty, price in ops:
        if is_buy or c.quantity == 0:
            c = c.buy(qty, qty * price, b3_fees_cents(qty * price, DAY))
        else:
            before = c.cost_cents / c.quantity
            c = c.sell(min(qty, c.quantity))
            if c.quantity:
                assert abs(c.cost_cents / c.quantity - before) < 1  # under a cent of rounding
        assert c.cost_cents >= 0


def test_t_plus_2_skips_weekends_and_holidays() -> None:
    assert settlement_date(date(2026, 11, 19)) == date(2026, 11, 24)  # Thu; Nov 20 (Consciência Negra) closed
    assert settlement_date(date(2026, 12, 23)) == date(2026, 12, 29)  # Dec 24 and 25 closed
    assert settlement_date(date(2026, 11, 27)) == date(2026, 12, 1)  # Fri -> Tue


def test_day_trade_sell_what_was_bought_today_and_rebuy_with_the_proceeds() -> None:
    # R$5,000.00 deposited. B3 fees 0.0230 % rounded up: 100 @ R$38.40 -> 89; 100 @ R$39.00 -> 90.
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 500_000)
    w.reserve(ACC, "b1", "PETR4", Side.BUY, 100, 3840, DAY)
    w.apply_order_event(event(1, "b1", OrderEventType.FILLED, qty=100, price=3840, cum=100, leaves=0,
                              fill=(100, 3840), status=OrderStatus.FILLED))
    assert bal(w, Bucket.AVAILABLE) == 500_000 - 384_089 and bal(w, Bucket.RECEIVABLE, "PETR4") == 100
    # the 100 bought an hour ago are sold in the same session (they sit in RECEIVABLE until D+2)
    w.reserve(ACC, "s1", "PETR4", Side.SELL, 100, 3900, DAY)
    w.apply_order_event(event(1, "s1", OrderEventType.FILLED, side=OrderSide.SELL, qty=100, price=3900, cum=100,
                              leaves=0, fill=(100, 3900), status=OrderStatus.FILLED))
    assert bal(w, Bucket.RECEIVABLE, "PETR4") == 0 and bal(w, Bucket.RECEIVABLE) == 389_910
    # rebuy with the proceeds: 390,090 needed, 115,911 settled + 389,910 projected
    w.reserve(ACC, "b2", "PETR4", Side.BUY, 100, 3900, DAY)
    w.apply_order_event(event(1, "b2", OrderEventType.FILLED, qty=100, price=3900, cum=100, leaves=0,
                              fill=(100, 3900), status=OrderStatus.FILLED))
    assert (bal(w, Bucket.AVAILABLE), bal(w, Bucket.RECEIVABLE), bal(w, Bucket.PAYABLE)) == (0, 115_731, 774_179)
    with pytest.raises(WalletError):  # projected cash buys, but is not withdrawn before it settles
        w.withdraw(ACC, "w", 1)
    assert_balanced(w)
    assert w.settle_due(settlement_date(DAY)) == 3
    # 500,000 - 384,089 + 389,910 - 390,090 = 115,731; the 100 shares of the rebuy are settled
    assert bal(w, Bucket.AVAILABLE) == 115_731 and bal(w, Bucket.AVAILABLE, "PETR4") == 100
    assert (bal(w, Bucket.RECEIVABLE), bal(w, Bucket.PAYABLE), bal(w, Bucket.RECEIVABLE, "PETR4")) == (0, 0, 0)
    assert w.settle_due(settlement_date(DAY)) == 0
    w.withdraw(ACC, "w", 115_731)
    assert_balanced(w)


def test_projected_credits_are_not_used_when_the_policy_says_no() -> None:
    w = Wallet(MemoryStore(), BuyingPower(projected_cash=False))
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "b", "PETR4", Side.BUY, 100, 1000, DAY)  # 100,023: 99,977 left
    w.apply_order_event(event(1, "b", OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1000),
                              status=OrderStatus.FILLED))
    w.reserve(ACC, "s", "PETR4", Side.SELL, 100, 1000, DAY)
    w.apply_order_event(event(1, "s", OrderEventType.FILLED, side=OrderSide.SELL, cum=100, leaves=0,
                              fill=(100, 1000), status=OrderStatus.FILLED))
    with pytest.raises(WalletError) as e:  # 100,023 > 99,977 settled; the 99,977 of proceeds do not count
        w.reserve(ACC, "b2", "PETR4", Side.BUY, 100, 1000, DAY)
    assert e.value.code == "INSUFFICIENT_FUNDS"


def test_a_release_of_a_pledged_hold_goes_back_to_projected_not_to_withdrawable() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "b", "PETR4", Side.BUY, 100, 1000, DAY)  # 100,023
    w.apply_order_event(event(1, "b", OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1000),
                              status=OrderStatus.FILLED))
    w.reserve(ACC, "s", "PETR4", Side.SELL, 100, 1000, DAY)  # proceeds 100,000 - 23 = 99,977
    w.apply_order_event(event(1, "s", OrderEventType.FILLED, side=OrderSide.SELL, cum=100, leaves=0,
                              fill=(100, 1000), status=OrderStatus.FILLED))
    # a buy of 150,000 + 35 fees: 99,977 settled + 50,058 of the projected 99,977
    w.reserve(ACC, "big", "PETR4", Side.BUY, 150, 1000, DAY)
    assert (bal(w, Bucket.AVAILABLE), bal(w, Bucket.RECEIVABLE)) == (0, 49_919)
    w.apply_order_event(event(2, "big", OrderEventType.CANCELED, qty=150, leaves=0, status=OrderStatus.CANCELED))
    assert (bal(w, Bucket.AVAILABLE), bal(w, Bucket.RECEIVABLE)) == (99_977, 99_977)
    with pytest.raises(WalletError):
        w.withdraw(ACC, "w", 99_978)
    assert_balanced(w)


def test_a_fill_beyond_the_hold_and_the_balance_is_refused_by_the_floor() -> None:
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 10_003)
    w.reserve(ACC, "o", "PETR4", Side.BUY, 10, 1000, DAY)
    before = w.store.balances(ACC)
    bogus = event(1, "o", OrderEventType.FILLED, qty=10, cum=100, leaves=0, fill=(100, 1000),
                  status=OrderStatus.FILLED)  # 100 shares on a 10-share order: 100,023 on a 10,003 hold
    assert w.apply_order_event(bogus) is EventOutcome.FLOOR_REFUSED
    assert w.store.balances(ACC) == before
    assert w.apply_order_event(bogus) is EventOutcome.DUPLICATE
    assert_balanced(w)


def test_the_wallet_shows_settled_cash_per_settlement_day() -> None:
    from mybroker.wallet.views import WalletView

    # 200,000 deposited, 100 bought for 100,023 and settled: 99,977 available (D0). A sale of 50 @ R$10.00 on
    # Tuesday 24 Nov credits 50,000 - 12 fees (0.0230 % of 50,000 = 11.5, up) = 49,988 on Thursday 26 Nov (D+2)
    w = Wallet(MemoryStore())
    w.deposit(ACC, "d", 200_000)
    w.reserve(ACC, "b0", "PETR4", Side.BUY, 100, 1000, DAY)  # 100,023 (settled later: the shares to sell)
    w.apply_order_event(event(1, "b0", OrderEventType.FILLED, cum=100, leaves=0, fill=(100, 1000),
                              status=OrderStatus.FILLED, trade_date="2026-11-20"))
    w.settle_due(date(2026, 11, 24))
    w.reserve(ACC, "s1", "PETR4", Side.SELL, 50, 1000, DAY)
    w.apply_order_event(event(1, "s1", OrderEventType.FILLED, side=OrderSide.SELL, qty=50, cum=50, leaves=0,
                              fill=(50, 1000), status=OrderStatus.FILLED, trade_date="2026-11-24"))
    view = WalletView.of(ACC, w.store.balances(ACC), w.store.pending_settlements(ACC))
    assert view.available_cents == 99_977 and view.buying_power_cents == 99_977 + 49_988
    assert [(p.settle_date, p.credits_cents, p.balance_cents) for p in view.projected] == [
        (date(2026, 11, 26), 49_988, 149_965)]
