"""The wallet's domain on the real MariaDB store: the floor is the database's, in the posting statement;
day trades on projected balances settle to the cent; orphan candidates and replace holds persist. Each test
uses accounts of its own and a trade date of 2025, so no other test's settlements are due with them."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime

import pytest
from mybroker.b3.calendar import settlement_date
from mybroker.contracts.engine import OrderType, TimeInForce
from mybroker.contracts.engine import Side as OrderSide
from mybroker.contracts.orders import Fill, OrderEvent, OrderEventType, OrderStatus
from mybroker.db import engine
from mybroker.fees import b3_fees_cents
from mybroker.wallet.ledger import BRL, Bucket, FloorBreached, JournalEntry, Posting, move
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.reservations import Side
from mybroker.wallet.service import EventOutcome, Wallet, WalletError

from local_runtime import services as svc

DAY = date(2025, 9, 1)  # a Monday; settles on Wednesday 3 September 2025 (fees 0.0230 % by then)


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine(svc.mysql_url("wallet"))))


@pytest.fixture
def acc() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def fill_event(acc: str, order: str, n: int, side: OrderSide, qty: int, price: int) -> OrderEvent:
    fees = b3_fees_cents(qty * price, DAY)
    return OrderEvent(event_id=f"{order}:{n}", event_type=OrderEventType.FILLED, order_id=order, account_id=acc,
                      instrument="PETR4", side=side, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                      quantity=qty, price_cents=price, status=OrderStatus.FILLED, cum_quantity=qty,
                      leaves_quantity=0, avg_price_cents=price,
                      fill=Fill(exec_id=n, trade_id=n, quantity=qty, price_cents=price, fees_cents=fees),
                      trade_date=DAY.isoformat(), occurred_at=datetime(2025, 9, 1, 14, tzinfo=UTC))


def bal(w: Wallet, acc: str, bucket: Bucket, asset: str = BRL) -> int:
    return w.store.balances(acc).get((bucket, asset), 0)


def test_the_floor_is_checked_by_the_database_in_the_same_transaction(wallet: Wallet, acc: str) -> None:
    wallet.deposit(acc, "d", 1_000)
    over = JournalEntry(f"it-floor:{acc}", acc, "test", "x", "takes more than there is",
                        move(BRL, 1_001, (acc, Bucket.AVAILABLE), ("system:pix", Bucket.MAIN)))
    with pytest.raises(FloorBreached), wallet.store.transaction() as tx:
        tx.post(JournalEntry(f"it-first:{acc}", acc, "test", "x", "a movement before it",
                             (Posting(acc, Bucket.AVAILABLE, BRL, -500), Posting("system:pix", Bucket.MAIN, BRL, 500))))
        tx.post(over)
    assert bal(wallet, acc, Bucket.AVAILABLE) == 1_000  # the earlier movement rolled back with it
    assert wallet.reconcile(acc) == []


def test_racing_withdrawals_never_overdraw(wallet: Wallet, acc: str) -> None:
    wallet.deposit(acc, "d", 10_000)
    done: list[str] = []

    def take(i: int) -> None:
        try:
            wallet.withdraw(acc, f"w{i}", 3_000)
            done.append("ok")
        except WalletError:
            done.append("refused")
        except Exception as exc:  # a deadlock victim is retried by the handler; count it as refused here
            done.append(type(exc).__name__)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done.count("ok") == 3 and bal(wallet, acc, Bucket.AVAILABLE) == 1_000
    assert wallet.reconcile(acc) == []


def test_day_trade_and_rebuy_settle_to_the_cent(wallet: Wallet, acc: str) -> None:
    # as the unit test of the same name: fees 89 (R$3,840.00) and 90 (R$3,900.00)
    wallet.deposit(acc, "d", 500_000)
    b1, s1, b2 = (f"{acc}-{x}" for x in ("b1", "s1", "b2"))
    wallet.reserve(acc, b1, "PETR4", Side.BUY, 100, 3840, DAY)
    assert wallet.apply_order_event(fill_event(acc, b1, 1, OrderSide.BUY, 100, 3840)) is EventOutcome.APPLIED
    wallet.reserve(acc, s1, "PETR4", Side.SELL, 100, 3900, DAY)
    wallet.apply_order_event(fill_event(acc, s1, 1, OrderSide.SELL, 100, 3900))
    wallet.reserve(acc, b2, "PETR4", Side.BUY, 100, 3900, DAY)
    wallet.apply_order_event(fill_event(acc, b2, 1, OrderSide.BUY, 100, 3900))
    assert (bal(wallet, acc, Bucket.AVAILABLE), bal(wallet, acc, Bucket.RECEIVABLE),
            bal(wallet, acc, Bucket.PAYABLE)) == (0, 115_731, 774_179)
    assert wallet.apply_order_event(fill_event(acc, b2, 1, OrderSide.BUY, 100, 3900)) is EventOutcome.DUPLICATE
    wallet.settle_due(settlement_date(DAY))
    assert bal(wallet, acc, Bucket.AVAILABLE) == 115_731 and bal(wallet, acc, Bucket.AVAILABLE, "PETR4") == 100
    assert bal(wallet, acc, Bucket.PAYABLE) == 0 and bal(wallet, acc, Bucket.RECEIVABLE) == 0
    assert wallet.reconcile(acc) == []
    # the morning buy and the sale are a day trade of 100; the rebuy is swing (nothing left to match)
    assert [(t.order_id, t.side, t.day_trade_quantity) for t in wallet.trades(acc, DAY, DAY)] == [
        (b1, Side.BUY, 100), (s1, Side.SELL, 100), (b2, Side.BUY, 0)]


def test_orphan_candidates_and_a_pending_replace_persist(wallet: Wallet, acc: str) -> None:
    wallet.deposit(acc, "d", 100_000)
    lost, live = f"{acc}-lost", f"{acc}-live"
    wallet.reserve(acc, lost, "PETR4", Side.BUY, 10, 1000, DAY)
    wallet.reserve(acc, live, "PETR4", Side.BUY, 10, 1000, DAY)
    wallet.replace(acc, live, 50, 1000, 1)
    r = wallet.store.reservation(acc, live)
    assert r is not None and (r.pending_quantity, r.pending_price_cents, r.reserved_cents) == (50, 1000, 50_012)
    assert (r.pending_seq, r.replace_seq) == (1, 0)
    placed = fill_event(acc, live, 1, OrderSide.BUY, 10, 1000).model_copy(
        update={"event_type": OrderEventType.PLACED, "fill": None, "status": OrderStatus.PENDING_NEW,
                "cum_quantity": 0, "leaves_quantity": 10})
    assert wallet.apply_order_event(placed) is EventOutcome.IGNORED
    mine = [c.order_id for c in wallet.orphan_candidates(datetime(2100, 1, 1, tzinfo=UTC), limit=100_000)
            if c.account_id == acc]
    assert mine == [lost]
    with pytest.raises(WalletError) as e:
        wallet.release(acc, live)
    assert e.value.code == "RESERVATION_IN_USE"
    wallet.release(acc, lost)
    assert bal(wallet, acc, Bucket.RESERVED) == 50_012 and wallet.reconcile(acc) == []


def test_a_late_fill_after_the_withholding_adjusts_it_in_mysql(wallet: Wallet, acc: str) -> None:
    # as the unit test of the same figures: a day trade of 1,000 (R$38.40 -> R$39.00: gain 58,219, IRRF 582)
    # withheld at D+2; a buy of 1,000 @ R$38.98 of the same day arrives after, the day trade is valued at the
    # day's average buy cost, (3,840,884 + 3,898,897) / 2 = 3,869,890, gain 29,213, IRRF 292: 290 go back
    wallet.deposit(acc, "d", 8_000_000)
    b1, s1, b2 = (f"{acc}-{x}" for x in ("b1", "s1", "b2"))
    wallet.reserve(acc, b1, "PETR4", Side.BUY, 1000, 3840, DAY)
    wallet.apply_order_event(fill_event(acc, b1, 1, OrderSide.BUY, 1000, 3840))
    wallet.reserve(acc, s1, "PETR4", Side.SELL, 1000, 3900, DAY)
    wallet.apply_order_event(fill_event(acc, s1, 1, OrderSide.SELL, 1000, 3900))
    assert wallet.store.irrf_owed(acc) == 582
    wallet.settle_due(settlement_date(DAY))
    assert wallet.store.irrf_owed(acc) == 0
    wallet.reserve(acc, b2, "PETR4", Side.BUY, 1000, 3898, DAY)
    assert wallet.apply_order_event(fill_event(acc, b2, 1, OrderSide.BUY, 1000, 3898)) is EventOutcome.APPLIED
    (day,) = wallet.store.withholdings(acc, DAY, DAY)
    assert (day.total_cents, day.withheld_cents, day.owed_cents, day.revision) == (292, 582, -290, 1)
    assert (acc, DAY) in wallet.store.due_withholdings(settlement_date(DAY), 100_000)
    before = bal(wallet, acc, Bucket.AVAILABLE)
    wallet.settle_due(settlement_date(DAY))  # pays the late buy, gives the 290 back
    assert bal(wallet, acc, Bucket.AVAILABLE) == before + 290
    (day,) = wallet.store.withholdings(acc, DAY, DAY)
    assert (day.withheld_cents, day.withheld, wallet.store.irrf_owed(acc)) == (292, True, 0)
    assert wallet.reconcile(acc) == []
