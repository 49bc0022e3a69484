"""Property-based tests: the engine against the naive reference book."""

from __future__ import annotations

from typing import Any

from engine_helpers import make_engine, ns, reports, trades
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_service.core import CancelOrder, ClockTick, NewOrder, ReplaceOrder
from engine_service.core.reference_book import ReferenceBook

new_op = st.tuples(
    st.just("new"),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(995, 1005),
    st.integers(1, 5),
    st.sampled_from(["DAY", "DAY", "DAY", "IOC", "FOK", "GTC"]),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 10_000))
replace_op = st.tuples(st.just("replace"), st.integers(0, 10_000), st.integers(1, 6), st.integers(995, 1005))
ops = st.lists(st.one_of(new_op, new_op, new_op, cancel_op, replace_op), min_size=1, max_size=80)

SETTINGS = settings(
    max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def run_against_reference(program: list[tuple[Any, ...]]) -> None:
    engine = make_engine(reference_price=0)  # no tunnels: the reference book has none
    book = engine.book("PETR4")
    ref = ReferenceBook()
    ids: list[int] = []
    qty_of: dict[int, int] = {}
    tif_of: dict[int, str] = {}
    for step, op in enumerate(program):
        if op[0] == "new":
            _, side, price, lots, tif = op
            msg = NewOrder("PETR4", f"c{step}", f"i{step}", side, lots * 100, price, tif=tif, stp="NONE")
            out = engine.process(msg)
            first = reports(out)[0]
            if first.exec_type == "REJECTED":
                assert tif == "FOK" and first.reason == "FOK_NOT_FILLABLE"
                assert ref.available(side == "BUY", price) < lots * 100
                continue
            oid = first.order_id
            ids.append(oid)
            qty_of[oid] = lots * 100
            tif_of[oid] = tif
            expected = ref.new(oid, side == "BUY", price, lots * 100, tif)
        elif not ids:
            continue
        elif op[0] == "cancel":
            oid = ids[op[1] % len(ids)]
            out = engine.process(CancelOrder("PETR4", oid, f"x{step}"))
            assert (reports(out)[0].exec_type == "CANCELED") == ref.cancel(oid)
            expected = []
        else:
            oid = ids[op[1] % len(ids)]
            new_qty = ref.cum.get(oid, 0) + op[2] * 100
            out = engine.process(ReplaceOrder("PETR4", oid, f"r{step}", new_qty, op[3]))
            live = oid in ref.where
            assert (reports(out)[0].exec_type == "REPLACED") == live
            expected = ref.replace(oid, new_qty, op[3]) if live else []
            if live:
                qty_of[oid] = new_qty
        got = [(t.buy_order_id, t.sell_order_id, t.price, t.qty) for t in trades(out)]
        # same trades, in the same order: price-time priority, resting price
        assert got == expected
        # same resting book, level by level, queue by queue
        assert book.depth() == ref.depth()
        # never crossed after continuous matching
        if book.bid_keys and book.ask_keys:
            assert book.best_bid() < book.best_ask()
        for r in reports(out):
            # quantity is conserved on every report
            if r.exec_type in ("NEW", "PARTIALLY_FILLED", "FILLED", "REPLACED"):
                assert r.cum_qty + r.leaves_qty == r.order_qty
            # FOK all or nothing; IOC and FOK never rest
            if tif_of.get(r.order_id) == "FOK" and r.exec_type in ("CANCELED", "FILLED"):
                assert r.cum_qty in (0, r.order_qty) and r.exec_type == "FILLED"
        for oid in ids:
            if tif_of[oid] in ("IOC", "FOK"):
                assert oid not in book.orders
    # every filled share has a counterparty: buys filled == sells filled
    assert sum(ref.cum.values()) % 2 == 0
    for oid, cum in ref.cum.items():
        o = book.orders.get(oid)
        if o is not None:
            assert o.cum == cum and o.cum + o.leaves == qty_of[oid]


@SETTINGS
@given(ops)
def test_engine_matches_reference_book(program: list[tuple[Any, ...]]) -> None:
    run_against_reference(program)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(990, 1010), st.integers(1, 4),
                          st.sampled_from([0, 100])), min_size=2, max_size=40))
def test_auction_uncross_leaves_book_uncrossed_and_conserves_quantity(
    orders: list[tuple[str, int, int, int]],
) -> None:
    engine = make_engine(reference_price=1000, at=ns(9, 46))
    total_in = 0
    for i, (side, price, lots, display) in enumerate(orders):
        out = engine.process(
            NewOrder("PETR4", f"c{i}", f"i{i}", side, lots * 100, price, display_qty=display, stp="NONE")
        )
        assert reports(out)[0].exec_type == "NEW"
        total_in += lots * 100
    book = engine.book("PETR4")
    expected_price, expected_qty, _, _ = book.equilibrium()
    out = engine.process(ClockTick(ns(10, 0)))
    done = trades(out)
    assert sum(t.qty for t in done) == expected_qty
    assert {t.price for t in done} <= {expected_price}
    if book.bid_keys and book.ask_keys:
        assert book.best_bid() < book.best_ask()
    resting = sum(o.leaves for o in book.orders.values())
    assert resting + 2 * expected_qty == total_in
