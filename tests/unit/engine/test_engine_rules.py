"""B3 rules: lots and the fractional market, tick, tunnels, phases, auctions, halts."""

from __future__ import annotations

import pytest
from engine_helpers import MONDAY, SUMMER_MONDAY, make_engine, new_id, ns, of_kind, order, reports, trades
from mybroker.b3.session import variant_for

from engine_service.core import (
    CancelOrder,
    ClockTick,
    Engine,
    Halt,
    InstrumentConfig,
    NewOrder,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
)
from engine_service.core.schedule import SessionCalendar


def reject_reason(e: Engine, msg: object) -> str:
    r = reports(e.process(msg))[0]
    assert r.exec_type == "REJECTED", r
    return str(r.reason)


def test_round_lot_and_fractional_market() -> None:
    e = make_engine()
    assert reject_reason(e, order("BUY", 150, 1000)) == "INVALID_LOT"
    assert reject_reason(e, order("BUY", 0, 1000)) == "INVALID_LOT"
    assert reject_reason(e, order("BUY", 100, 1000, symbol="PETR4F")) == "INVALID_LOT"
    assert reject_reason(e, order("BUY", 100, 1000, symbol="PETR3")) == "UNKNOWN_INSTRUMENT"
    out = e.process(order("BUY", 37, 1000, symbol="PETR4F"))
    assert reports(out)[0].exec_type == "NEW"
    out = e.process(order("SELL", 99, 1000, investor="B", symbol="PETR4F"))
    assert [(t.instrument, t.qty) for t in trades(out)] == [("PETR4F", 37)]
    assert e.book("PETR4").depth() == ([], [])  # separate books


def test_tick_size() -> None:
    e = make_engine(tick=5)
    assert reject_reason(e, order("BUY", 100, 1001)) == "INVALID_TICK"
    assert reports(e.process(order("BUY", 100, 1005)))[0].exec_type == "NEW"
    assert reject_reason(e, order("BUY", 100, -5)) == "INVALID_PRICE"


def test_rejection_tunnel() -> None:
    e = make_engine(reference_price=1000, rejection_tunnel_bps=1000)
    assert reject_reason(e, order("BUY", 100, 1101)) == "PRICE_OUT_OF_BAND"
    assert reject_reason(e, order("SELL", 100, 899)) == "PRICE_OUT_OF_BAND"
    assert reports(e.process(order("BUY", 100, 1100)))[0].exec_type == "NEW"
    # selling at the lower limit (or buying below it) is fine
    assert reports(e.process(order("SELL", 100, 900, investor="B")))[0].exec_type == "NEW"
    e.process(SetReferencePrice("PETR4", 2000))
    assert reject_reason(e, order("SELL", 100, 1799)) == "PRICE_OUT_OF_BAND"
    assert e.book("PETR4F").reference_price == 2000


def test_trade_outside_auction_tunnel_starts_volatility_auction() -> None:
    e = make_engine(reference_price=1000, auction_tunnel_bps=500, volatility_auction_ns=300 * 10**9)
    e.process(order("SELL", 100, 1060, "s", "A"))  # above the 1050 auction limit
    out = e.process(order("BUY", 100, 1060, "b", "B"))
    assert trades(out) == []
    phase = of_kind(out, "PHASE")[0]
    assert (phase.phase, phase.auction_end_ns) == ("VOLATILITY_AUCTION", ns(10, 35))
    indicative = of_kind(out, "AUCTION")[-1]
    assert (indicative.indicative_price, indicative.indicative_qty) == (1060, 100)
    # during the auction orders are accepted and do not trade
    out = e.process(order("BUY", 100, 1070, "b2", "C"))
    assert trades(out) == []
    # 1060: buys 200 / sells 100; 1070: buys 100 / sells 100 -> same volume, smaller imbalance at 1070
    info = of_kind(out, "AUCTION")[-1]
    assert (info.indicative_price, info.indicative_qty, info.imbalance_qty) == (1070, 100, 0)
    out = e.process(ClockTick(ns(10, 34)))
    assert of_kind(out, "PHASE") == []
    out = e.process(ClockTick(ns(10, 36)))
    assert [(t.price, t.qty, t.aggressor_side) for t in trades(out)] == [(1070, 100, "")]
    assert of_kind(out, "PHASE")[0].phase == "CONTINUOUS"
    assert e.book("PETR4").reference_price == 1070  # tunnels re-centred on the auction price


def test_fok_outside_auction_tunnel_is_not_fillable() -> None:
    e = make_engine(reference_price=1000)
    e.process(order("SELL", 100, 1060, "s", "A"))
    assert reject_reason(e, order("BUY", 100, 1060, "b", "B", tif="FOK")) == "FOK_NOT_FILLABLE"
    assert e.phase("PETR4") == "CONTINUOUS"


def test_an_ioc_outside_the_auction_tunnel_does_not_start_an_auction_it_cannot_take_part_in() -> None:
    # found in review: the IOC was canceled and the book went to a 5-minute auction with nothing to uncross
    e = make_engine(reference_price=1000)
    e.process(order("SELL", 100, 1060, "s", "A"))
    out = e.process(order("BUY", 100, 1060, "b", "B", tif="IOC"))
    assert [(r.exec_type, r.reason) for r in reports(out)] == [("NEW", ""), ("CANCELED", "IOC_REMAINDER")]
    assert e.phase("PETR4") == "CONTINUOUS" and of_kind(out, "PHASE") == []


def test_schedule_standard_and_daylight_variants() -> None:
    assert variant_for(SUMMER_MONDAY) == "us-daylight"
    assert variant_for(MONDAY) == "us-standard"
    cal = SessionCalendar()
    assert cal.phase_at(ns(9, 0)) == "CLOSED"
    assert cal.phase_at(ns(9, 31)) == "PRE_OPEN"
    assert cal.phase_at(ns(9, 50)) == "OPENING_AUCTION"
    assert cal.phase_at(ns(17, 0)) == "CONTINUOUS"
    assert cal.phase_at(ns(17, 56)) == "CLOSING_CALL"
    assert cal.phase_at(ns(17, 0, day=SUMMER_MONDAY)) == "CLOSED"
    assert cal.phase_at(ns(16, 56, day=SUMMER_MONDAY)) == "CLOSING_CALL"
    assert cal.phase_at(ns(11, 0, day=MONDAY.replace(day=21))) == "CLOSED"  # Saturday
    # the after-market (17:30-18:00 in the daylight variant) is CLOSED for the engine
    assert cal.phase_at(ns(17, 45, day=SUMMER_MONDAY)) == "CLOSED"


def test_ash_wednesday_opens_late_as_the_broker_says() -> None:
    from datetime import date, datetime

    from mybroker.b3.session import SAO_PAULO, phase_at

    ash = date(2027, 2, 10)  # Easter 2027 is March 28
    cal = SessionCalendar()
    for hour, minute in ((10, 0), (12, 40), (12, 50), (13, 0), (15, 0), (18, 0)):
        at = datetime(ash.year, ash.month, ash.day, hour, minute, tzinfo=SAO_PAULO)
        assert cal.phase_at(ns(hour, minute, day=ash)) == phase_at(at).value
    assert cal.phase_at(ns(10, 30, day=ash)) == "CLOSED"
    assert cal.phase_at(ns(13, 0, day=ash)) == "CONTINUOUS"


def test_phase_walk_through_a_day_and_market_closed() -> None:
    e = make_engine(at=ns(9, 0))
    assert e.phase("PETR4") == "CLOSED"
    assert reject_reason(e, order("BUY", 100, 1000)) == "MARKET_CLOSED"
    phases = []
    for t in (ns(9, 30), ns(9, 45), ns(10, 0), ns(17, 55), ns(18, 0)):
        phases += [p.phase for p in of_kind(e.process(ClockTick(t)), "PHASE") if p.instrument == "PETR4"]
    assert phases == ["PRE_OPEN", "OPENING_AUCTION", "CONTINUOUS", "CLOSING_CALL", "CLOSED"]
    # one tick jumping over several boundaries walks through all of them
    e2 = make_engine(at=ns(9, 0))
    out = e2.process(ClockTick(ns(11, 0)))
    assert [p.phase for p in of_kind(out, "PHASE") if p.instrument == "PETR4"] == [
        "PRE_OPEN", "OPENING_AUCTION", "CONTINUOUS"]


def test_pre_open_allows_cancels_only() -> None:
    e = make_engine(at=ns(9, 50))  # opening call
    oid = new_id(e.process(order("BUY", 100, 1000)))
    e2 = make_engine(at=ns(9, 35))
    assert reject_reason(e2, order("BUY", 100, 1000)) == "MARKET_CLOSED"
    assert reports(e.process(CancelOrder("PETR4", oid, "x")))[0].exec_type == "CANCELED"


@pytest.mark.parametrize(("buy", "sell"), [((100, 1020), (100, 980)),
                                         ((100, 0), (100, 0))])  # two MARKET orders (their protection prices)
def test_an_auction_between_two_order_prices_uncrosses_at_the_reference(buy: tuple[int, int],
                                                                        sell: tuple[int, int]) -> None:
    # found in review: only the orders' prices were candidates, so 100 @ 10.20 against 100 @ 9.80 (reference
    # 10.00) uncrossed at 9.80, the lower price, although every price from 9.80 to 10.20 executes the 100 with
    # no imbalance and 10.00 is closest to the reference; two market orders met at the sell's protection price
    e = make_engine(reference_price=1000, at=ns(9, 46))
    kind = {} if buy[1] else {"order_type": "MARKET"}
    e.process(order("BUY", buy[0], buy[1], "b", "A", **kind))
    out = e.process(order("SELL", sell[0], sell[1], "s", "B", **kind))
    info = of_kind(out, "AUCTION")[-1]
    assert (info.indicative_price, info.indicative_qty, info.imbalance_qty) == (1000, 100, 0)


def test_opening_auction_uncross_at_theoretical_price() -> None:
    e = make_engine(reference_price=1000, at=ns(9, 46))
    assert reject_reason(e, order("BUY", 100, 1000, tif="IOC")) == "INVALID_TIF_FOR_PHASE"
    e.process(order("BUY", 300, 1010, "b1", "A"))
    e.process(order("BUY", 200, 1000, "b2", "A"))
    e.process(order("SELL", 200, 990, "s1", "B"))
    out = e.process(order("SELL", 200, 1005, "s2", "B"))
    info = of_kind(out, "AUCTION")[-1]
    # at 1005: buys 300, sells 400 -> 300; at 1000: buys 500, sells 200 -> 200; at 1010: 300 vs 400 -> 300
    # max volume 300 at 1005 and 1010, imbalance 100 both, closest to reference 1000 -> 1005
    assert (info.indicative_price, info.indicative_qty, info.imbalance_side) == (1005, 300, "SELL")
    out = e.process(ClockTick(ns(10, 0)))
    assert {t.price for t in trades(out)} == {1005}
    assert sum(t.qty for t in trades(out)) == 300
    assert [p.phase for p in of_kind(out, "PHASE") if p.instrument == "PETR4"] == ["CONTINUOUS"]
    assert e.book("PETR4").best_bid() < e.book("PETR4").best_ask()


def test_closing_call_with_at_the_close_and_good_for_auction_orders() -> None:
    e = make_engine(reference_price=1000)
    moc = new_id(e.process(order("BUY", 200, 1000, "moc", "A", tif="AT_THE_CLOSE")))
    moa = new_id(e.process(order("SELL", 100, 0, "moa", "B", order_type="MARKET", tif="GOOD_FOR_AUCTION")))
    assert e.book("PETR4").depth() == ([], [])  # both wait for their auction
    e.process(order("SELL", 300, 1000, "s", "C"))
    out = e.process(ClockTick(ns(17, 56)))
    assert e.phase("PETR4") == "CLOSING_CALL"
    assert of_kind(out, "AUCTION")[-1].indicative_qty == 200
    out = e.process(ClockTick(ns(18, 0)))
    fills = {(t.buy_order_id, t.sell_order_id, t.qty) for t in trades(out)}
    assert sum(q for _, _, q in fills) == 200 and all(b == moc for b, _, _ in fills)
    assert moa in {s for _, s, _ in fills}  # market (protection price 900) goes first
    assert e.phase("PETR4") == "CLOSED"
    assert e.book("PETR4").depth() == ([], [])  # the rest of the DAY sell expired


def test_good_for_auction_remainder_expires_after_the_auction() -> None:
    e = make_engine(reference_price=1000, at=ns(9, 46))
    moa = new_id(e.process(order("BUY", 300, 1000, "moa", "A", tif="GOOD_FOR_AUCTION")))
    e.process(order("SELL", 100, 1000, "s", "B"))
    out = e.process(ClockTick(ns(10, 0)))
    final = [r for r in reports(out) if r.order_id == moa][-1]
    assert (final.exec_type, final.cum_qty, final.reason) == ("EXPIRED", 100, "END_OF_AUCTION")


def test_halt_and_resume_through_an_auction() -> None:
    e = make_engine()
    oid = new_id(e.process(order("BUY", 100, 1000)))
    out = e.process(Halt("PETR4"))
    assert [p.phase for p in of_kind(out, "PHASE")] == ["HALTED", "HALTED"]  # PETR4 and PETR4F
    assert reject_reason(e, order("BUY", 100, 1000)) == "INSTRUMENT_HALTED"
    assert reject_reason(e, ReplaceOrder("PETR4", oid, "r", 200)) == "INSTRUMENT_HALTED"
    out = e.process(Resume("PETR4"))
    assert of_kind(out, "PHASE")[0].phase == "VOLATILITY_AUCTION"
    e.process(ClockTick(ns(10, 36)))
    assert e.phase("PETR4") == "CONTINUOUS"


def test_bad_input_never_raises() -> None:
    e = make_engine()
    bad = [
        object(),
        NewOrder("PETR4", "c", "i", "SIDEWAYS", 100, 1000),
        NewOrder("PETR4", "c", "i", "BUY", "100", 1000),  # type: ignore[arg-type]
        NewOrder("PETR4", "c", "i", "BUY", 100, 1000, order_type="PEGGED"),
        NewOrder("PETR4", "c", "i", "BUY", 100, 1000, tif="ATO"),
        NewOrder("PETR4", "c", "i", "BUY", 100, 0, order_type="STOP"),
        NewOrder("PETR4", "c", "i", "BUY", 100, 1000, display_qty=150),
        NewOrder("PETR4", "c", "i", "BUY", 100, 1000, min_qty=200),
        CancelOrder("PETR4", "x"),  # type: ignore[arg-type]
        CancelOrder("NOPE", 1),
        ReplaceOrder("PETR4", 99, "x", 100),
        SetReferencePrice("PETR4", -1),
        SetReferencePrice("NOPE", 100),
        ClockTick("soon"),  # type: ignore[arg-type]
        ClockTick(0),  # backwards: ignored
    ]
    for msg in bad:
        out = e.process(msg)
        assert all(r.exec_type == "REJECTED" for r in reports(out)), (msg, out)
    assert e.book("PETR4").depth() == ([], [])


def test_market_order_without_reference_price_is_rejected() -> None:
    e = Engine([InstrumentConfig("VALE3")])
    e.process(ClockTick(ns(10, 30)))
    r = reports(e.process(NewOrder("VALE3", "m", "i", "BUY", 100, 0, order_type="MARKET")))[0]
    assert r.reason == "NO_REFERENCE_PRICE"
    # no reference price: no tunnels at all
    assert reports(e.process(NewOrder("VALE3", "l", "i", "BUY", 100, 10**9)))[0].exec_type == "NEW"
