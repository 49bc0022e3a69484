"""Order types, time in force, cancel/replace and self-trade prevention in continuous trading."""

from __future__ import annotations

from datetime import timedelta

from engine_helpers import MONDAY, last_report, make_engine, new_id, ns, of_kind, order, reports, trades

from engine_service.core import CancelOrder, ClockTick, ReplaceOrder

MONDAY_PLUS_1 = MONDAY + timedelta(days=1)


def test_limit_orders_match_at_resting_price_with_partial_fills() -> None:
    e = make_engine()
    b1 = new_id(e.process(order("BUY", 200, 1000, "b1", "A")))
    b2 = new_id(e.process(order("BUY", 100, 1001, "b2", "B")))
    out = e.process(order("SELL", 400, 990, "s1", "C"))
    s1 = new_id(out)
    assert [(t.price, t.qty, t.buy_order_id) for t in trades(out)] == [(1001, 100, b2), (1000, 200, b1)]
    sell = last_report(out, s1)
    assert (sell.exec_type, sell.cum_qty, sell.leaves_qty) == ("PARTIALLY_FILLED", 300, 100)
    # average price: (100*1001 + 200*1000) / 300 = 1000.33 -> 1000 (half up)
    assert sell.avg_price == 1000
    assert e.book("PETR4").best_ask() == 990
    assert trades(out)[0].aggressor_side == "SELL"


def test_price_time_priority_within_level() -> None:
    e = make_engine()
    first = new_id(e.process(order("SELL", 100, 1000, "a", "A")))
    second = new_id(e.process(order("SELL", 100, 1000, "b", "B")))
    out = e.process(order("BUY", 100, 1000, "c", "C"))
    assert trades(out)[0].sell_order_id == first
    assert e.book("PETR4").depth()[1] == [(1000, [(second, 100)])]


def test_average_price_rounds_half_up() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    e.process(order("SELL", 100, 1001, "b", "A"))
    out = e.process(order("BUY", 200, 1001, "c", "B"))
    assert last_report(out, new_id(out)).avg_price == 1001  # 1000.5 -> 1001


def test_market_order_remainder_rests_at_protection_price() -> None:
    e = make_engine(reference_price=1000)  # rejection tunnel 10%: protection 1100 for a buy
    e.process(order("SELL", 100, 1000, "a", "A"))
    out = e.process(order("BUY", 300, 0, "m", "B", order_type="MARKET"))
    m = new_id(out)
    assert trades(out)[0].qty == 100
    assert last_report(out, m).leaves_qty == 200
    # resting at 1100 would cross any ask up to 1100; it is the best bid now
    assert e.book("PETR4").depth()[0] == [(1100, [(m, 200)])]


def test_market_order_with_explicit_protection_price() -> None:
    e = make_engine()
    out = e.process(order("SELL", 100, 0, "m", "B", order_type="MARKET", protection_price=980))
    assert e.book("PETR4").depth()[1] == [(980, [(new_id(out), 100)])]


def test_market_with_leftover_as_limit_rests_at_first_price() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    e.process(order("SELL", 100, 1005, "b", "A"))
    out = e.process(order("BUY", 300, 0, "m", "B", order_type="MARKET_WITH_LEFTOVER_AS_LIMIT"))
    m = new_id(out)
    assert [t.price for t in trades(out)] == [1000]
    assert e.book("PETR4").depth()[0] == [(1000, [(m, 200)])]
    rejected = reports(e.process(order("SELL", 100, 0, "x", "B", order_type="MARKET_WITH_LEFTOVER_AS_LIMIT")))
    assert rejected[0].exec_type == "NEW"  # the 1000 bid is there


def test_market_with_leftover_as_limit_without_liquidity_is_rejected() -> None:
    e = make_engine()
    out = reports(e.process(order("BUY", 100, 0, "m", order_type="MARKET_WITH_LEFTOVER_AS_LIMIT")))
    assert (out[0].exec_type, out[0].reason) == ("REJECTED", "NO_LIQUIDITY")


def test_stop_limit_triggers_on_last_trade_price() -> None:
    e = make_engine()
    out = e.process(order("BUY", 100, 1010, "stop", "S", order_type="STOP_LIMIT", stop_price=1005))
    stop = new_id(out)
    assert e.book("PETR4").depth() == ([], [])
    e.process(order("SELL", 100, 1005, "a", "A"))
    e.process(order("SELL", 100, 1008, "b", "A"))
    out = e.process(order("BUY", 100, 1005, "c", "B"))  # trades at 1005 -> triggers the stop
    kinds = [(r.order_id, r.exec_type) for r in reports(out)]
    assert (stop, "TRIGGERED") in kinds
    stop_trade = [t for t in trades(out) if t.buy_order_id == stop]
    assert [(t.price, t.qty) for t in stop_trade] == [(1008, 100)]


def test_sell_stop_becomes_market_with_protection() -> None:
    e = make_engine()
    stop = new_id(e.process(order("SELL", 200, 0, "stop", "S", order_type="STOP", stop_price=995)))
    e.process(order("BUY", 100, 995, "a", "A"))
    e.process(order("BUY", 100, 990, "b", "A"))
    out = e.process(order("SELL", 100, 995, "c", "B"))
    stop_fills = [(t.price, t.qty) for t in trades(out) if t.sell_order_id == stop]
    assert stop_fills == [(990, 100)]
    # remainder rests at the protection price (lower rejection limit 900)
    assert e.book("PETR4").depth()[1] == [(900, [(stop, 100)])]


def test_a_rested_market_with_leftover_keeps_its_price_when_replaced() -> None:
    # found in review: raising the quantity of the rested remainder re-ran the order type: with no ask it was
    # canceled NO_LIQUIDITY, with an ask at 10.40 it bought there, above its standing 10.00
    for asks, expected in (((), []), ((("SELL", 100, 1040, "far", "C"),), [])):
        e = make_engine()
        e.process(order("SELL", 100, 1000, "a", "A"))
        out = e.process(order("BUY", 200, 0, "m", "B", order_type="MARKET_WITH_LEFTOVER_AS_LIMIT"))
        m = new_id(out)
        for a in asks:
            e.process(order(*a))
        out = e.process(ReplaceOrder("PETR4", m, "m2", 300, 0))
        assert [(r.exec_type, r.price) for r in reports(out) if r.order_id == m] == [("REPLACED", 1000)]
        assert [t.price for t in trades(out)] == expected
        assert e.book("PETR4").depth()[0] == [(1000, [(m, 200)])]


def test_a_fok_that_self_trade_prevention_would_stop_behind_an_iceberg_is_not_fillable() -> None:
    # found in review: an iceberg of 1,000 showing 100 (A) and B's own 100 at 10.00; B's FOK buy of 500 was
    # accepted on the iceberg's 1,000, took its slice of 100, met its own order (the refreshed slice goes
    # behind it) and was canceled SELF_TRADE: a FOK partly filled
    e = make_engine()
    e.process(order("SELL", 1000, 1000, "ice", "A", display_qty=100))
    e.process(order("SELL", 100, 1000, "own", "B"))
    out = e.process(order("BUY", 500, 1000, "fok", "B", tif="FOK"))
    assert [(r.exec_type, r.reason) for r in reports(out)] == [("REJECTED", "FOK_NOT_FILLABLE")]
    assert trades(out) == []
    # without the own order in the way the iceberg's whole 1,000 is there to take
    out = e.process(order("BUY", 500, 1000, "fok2", "C", tif="FOK"))
    assert sum(t.qty for t in trades(out)) == 500


def test_a_stop_is_armed_by_later_trades_not_by_an_earlier_last_price() -> None:
    # found in review: a sell stop at 10.50 entered after the last trade at 10.00 (a stale print, a day old
    # after a new reference) triggered at once and sold into the bid
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    e.process(order("BUY", 100, 1000, "b", "B"))  # last trade 10.00
    e.process(order("BUY", 100, 990, "bid", "C"))
    out = e.process(order("SELL", 100, 0, "stop", "S", order_type="STOP", stop_price=1050))
    stop = new_id(out)
    assert [r.exec_type for r in reports(out)] == ["NEW"] and not trades(out)
    e.process(order("SELL", 100, 1000, "c", "A"))
    out = e.process(order("BUY", 100, 1000, "d", "B"))  # the next trade at or below 10.50 arms it
    assert (stop, "TRIGGERED") in [(r.order_id, r.exec_type) for r in reports(out)]
    assert [(t.price, t.qty) for t in trades(out) if t.sell_order_id == stop] == [(990, 100)]


def test_a_sweep_through_a_buy_stops_price_triggers_it() -> None:
    # a sell of 200 prints at 10.00 and then 9.90: the buy stop at 10.00 was reached by the first print
    e = make_engine()
    e.process(order("BUY", 100, 1000, "b1", "A"))
    e.process(order("BUY", 100, 990, "b2", "A"))
    stop = new_id(e.process(order("BUY", 100, 1010, "stop", "S", order_type="STOP_LIMIT", stop_price=1000)))
    out = e.process(order("SELL", 200, 990, "s", "B"))
    assert [t.price for t in trades(out)] == [1000, 990]
    assert (stop, "TRIGGERED") in [(r.order_id, r.exec_type) for r in reports(out)]


def test_a_triggered_fok_stop_fills_in_full_or_not_at_all() -> None:
    # asks 100 @ 10.00 and 100 @ 10.05; a FOK buy stop-limit of 300 up to 10.10 is triggered by a print at
    # 10.00: only 100 are left within its limit, so it is canceled whole instead of filling 100
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a1", "A"))
    e.process(order("SELL", 100, 1005, "a2", "A"))
    stop = new_id(e.process(order("BUY", 300, 1010, "stop", "S", order_type="STOP_LIMIT", stop_price=1000,
                                  tif="FOK")))
    out = e.process(order("BUY", 100, 1000, "b", "B"))
    mine = [(r.exec_type, r.reason) for r in reports(out) if r.order_id == stop]
    assert mine == [("TRIGGERED", ""), ("CANCELED", "FOK_NOT_FILLABLE")]
    assert not [t for t in trades(out) if t.buy_order_id == stop]
    assert e.book("PETR4").best_ask() == 1005


def test_iceberg_shows_display_quantity_and_replenishes_at_back() -> None:
    e = make_engine()
    ice = new_id(e.process(order("SELL", 500, 1000, "ice", "A", display_qty=100)))
    out = e.process(order("SELL", 200, 1000, "plain", "B"))
    plain = new_id(out)
    assert of_kind(out, "L2")[-1].qty == 300  # 100 shown + 200
    out = e.process(order("BUY", 200, 1000, "buy", "C"))
    # 100 from the iceberg's slice, then the plain order (the iceberg went to the back)
    assert [(t.sell_order_id, t.qty) for t in trades(out)] == [(ice, 100), (plain, 100)]
    assert e.book("PETR4").depth()[1] == [(1000, [(plain, 100), (ice, 400)])]
    assert of_kind(out, "L2")[-1].qty == 200  # 100 + a new slice of 100


def test_iceberg_fully_consumed_by_one_large_aggressor() -> None:
    e = make_engine()
    ice = new_id(e.process(order("SELL", 300, 1000, "ice", "A", display_qty=100)))
    out = e.process(order("BUY", 300, 1000, "buy", "C"))
    assert [t.qty for t in trades(out)] == [100, 100, 100]
    assert last_report(out, ice).exec_type == "FILLED"


def test_fok_is_all_or_nothing() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    out = reports(e.process(order("BUY", 200, 1000, "f", "B", tif="FOK")))
    assert (out[0].exec_type, out[0].reason) == ("REJECTED", "FOK_NOT_FILLABLE")
    e.process(order("SELL", 100, 1001, "b", "A"))
    out = e.process(order("BUY", 200, 1001, "f2", "B", tif="FOK"))
    assert sum(t.qty for t in trades(out)) == 200


def test_ioc_remainder_is_canceled() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    out = e.process(order("BUY", 300, 1000, "i", "B", tif="IOC"))
    i = new_id(out)
    final = last_report(out, i)
    assert (final.exec_type, final.cum_qty, final.leaves_qty) == ("CANCELED", 100, 0)
    assert final.reason == "IOC_REMAINDER"
    assert e.book("PETR4").depth() == ([], [])


def test_minimum_quantity() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    out = reports(e.process(order("BUY", 300, 1000, "m", "B", min_qty=200)))
    assert (out[0].exec_type, out[0].reason) == ("REJECTED", "MIN_QTY_NOT_MET")
    out = e.process(order("BUY", 300, 1000, "m2", "B", min_qty=100))
    assert trades(out)[0].qty == 100
    assert last_report(out, new_id(out)).leaves_qty == 200  # the rest follows its time in force


def test_cancel_and_unknown_order() -> None:
    e = make_engine()
    oid = new_id(e.process(order("BUY", 100, 1000, "a", "A")))
    out = e.process(CancelOrder("PETR4", oid, "cx"))
    r = reports(out)[0]
    assert (r.exec_type, r.client_order_id, r.orig_client_order_id) == ("CANCELED", "cx", "a")
    assert r.leaves_qty == 0
    assert of_kind(out, "L2")[0].qty == 0
    r = reports(e.process(CancelOrder("PETR4", oid, "cy")))[0]
    assert (r.exec_type, r.reason) == ("REJECTED", "UNKNOWN_ORDER")


def test_replace_quantity_decrease_keeps_priority() -> None:
    e = make_engine()
    first = new_id(e.process(order("BUY", 300, 1000, "a", "A")))
    second = new_id(e.process(order("BUY", 100, 1000, "b", "B")))
    out = e.process(ReplaceOrder("PETR4", first, "a2", 200))
    r = reports(out)[0]
    assert (r.exec_type, r.client_order_id, r.orig_client_order_id) == ("REPLACED", "a2", "a")
    assert r.leaves_qty == 200
    assert e.book("PETR4").depth()[0] == [(1000, [(first, 200), (second, 100)])]


def test_replace_quantity_increase_or_price_change_loses_priority() -> None:
    e = make_engine()
    first = new_id(e.process(order("BUY", 100, 1000, "a", "A")))
    second = new_id(e.process(order("BUY", 100, 1000, "b", "B")))
    e.process(ReplaceOrder("PETR4", first, "a2", 200))
    assert e.book("PETR4").depth()[0] == [(1000, [(second, 100), (first, 200)])]
    e.process(ReplaceOrder("PETR4", second, "b2", 100, 999))
    e.process(ReplaceOrder("PETR4", second, "b3", 100, 1000))
    assert e.book("PETR4").depth()[0] == [(1000, [(first, 200), (second, 100)])]


def test_replace_to_crossing_price_trades() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1005, "s", "A"))
    b = new_id(e.process(order("BUY", 100, 1000, "b", "B")))
    out = e.process(ReplaceOrder("PETR4", b, "b2", 100, 1005))
    assert trades(out)[0].price == 1005
    assert last_report(out, b).exec_type == "FILLED"


def test_replace_after_partial_fill_counts_filled_shares() -> None:
    e = make_engine()
    b = new_id(e.process(order("BUY", 300, 1000, "b", "B")))
    e.process(order("SELL", 100, 1000, "s", "A"))
    r = reports(e.process(ReplaceOrder("PETR4", b, "b2", 200)))[0]
    assert (r.cum_qty, r.leaves_qty, r.order_qty) == (100, 100, 200)
    r = reports(e.process(ReplaceOrder("PETR4", b, "b3", 100)))[0]
    assert (r.exec_type, r.reason) == ("REJECTED", "INVALID_LOT")


def test_self_trade_prevention_cancel_aggressor_is_default() -> None:
    e = make_engine()
    rest = new_id(e.process(order("SELL", 100, 1000, "a", "SAME")))
    out = e.process(order("BUY", 100, 1000, "b", "SAME"))
    assert trades(out) == []
    assert (last_report(out, new_id(out)).exec_type, last_report(out, new_id(out)).reason) == (
        "CANCELED", "SELF_TRADE")
    assert e.book("PETR4").depth()[1] == [(1000, [(rest, 100)])]


def test_self_trade_prevention_cancel_resting_and_both_and_none() -> None:
    e = make_engine()
    rest = new_id(e.process(order("SELL", 100, 1000, "a", "SAME")))
    other = new_id(e.process(order("SELL", 100, 1000, "b", "OTHER")))
    out = e.process(order("BUY", 100, 1000, "c", "SAME", stp="CANCEL_RESTING"))
    assert last_report(out, rest).reason == "SELF_TRADE"
    assert trades(out)[0].sell_order_id == other

    rest = new_id(e.process(order("SELL", 100, 1000, "d", "SAME")))
    out = e.process(order("BUY", 100, 1000, "e", "SAME", stp="CANCEL_BOTH"))
    assert last_report(out, rest).exec_type == "CANCELED"
    assert last_report(out, new_id(out)).exec_type == "CANCELED"
    assert e.book("PETR4").depth() == ([], [])

    e.process(order("SELL", 100, 1000, "f", "SAME"))
    out = e.process(order("BUY", 100, 1000, "g", "SAME", stp="NONE"))
    assert trades(out)[0].buy_investor_id == trades(out)[0].sell_investor_id == "SAME"


def test_day_orders_expire_at_close_gtc_survives_gtd_expires_on_date() -> None:
    e = make_engine()
    day = new_id(e.process(order("BUY", 100, 990, "day", "A")))
    gtc = new_id(e.process(order("BUY", 100, 991, "gtc", "A", tif="GTC")))
    gtd_today = new_id(e.process(order("BUY", 100, 992, "gtd1", "A", tif="GTD", expire_date=20261116)))
    gtd_later = new_id(e.process(order("BUY", 100, 993, "gtd2", "A", tif="GTD", expire_date=20261117)))
    out = e.process(ClockTick(ns(18, 1)))
    expired = {r.order_id: r.reason for r in reports(out) if r.exec_type == "EXPIRED"}
    assert expired == {day: "END_OF_DAY", gtd_today: "GTD_DATE_REACHED"}
    assert {o for _, q in e.book("PETR4").depth()[0] for o, _ in q} == {gtc, gtd_later}
    out = e.process(ClockTick(ns(18, 1, day=MONDAY_PLUS_1)))
    assert {r.order_id for r in reports(out) if r.exec_type == "EXPIRED"} == {gtd_later}


def test_a_gtd_date_on_a_weekend_expires_at_the_close_before_it() -> None:
    # found in review: a GTD for Saturday 21 November, placed on Friday, lived through Monday's session
    friday = MONDAY.replace(day=20)
    e = make_engine(at=ns(10, 30, day=friday))
    saturday = new_id(e.process(order("BUY", 100, 992, "sat", "A", tif="GTD", expire_date=20261121)))
    monday = new_id(e.process(order("BUY", 100, 993, "mon", "A", tif="GTD", expire_date=20261123)))
    out = e.process(ClockTick(ns(18, 1, day=friday)))
    assert {r.order_id: r.reason for r in reports(out) if r.exec_type == "EXPIRED"} == {saturday: "GTD_DATE_REACHED"}
    assert {o for _, q in e.book("PETR4").depth()[0] for o, _ in q} == {monday}


def test_gtd_in_the_past_is_rejected() -> None:
    e = make_engine()
    r = reports(e.process(order("BUY", 100, 990, "g", tif="GTD", expire_date=20261115)))[0]
    assert (r.exec_type, r.reason) == ("REJECTED", "INVALID_EXPIRE_DATE")


def test_partially_filled_aggressor_rests_with_its_remaining_quantity() -> None:
    e = make_engine()
    e.process(order("SELL", 100, 1000, "a", "A"))
    b = new_id(e.process(order("BUY", 500, 1000, "b", "B")))
    out = e.process(order("SELL", 500, 1000, "c", "C"))
    assert [(t.buy_order_id, t.qty) for t in trades(out)] == [(b, 400)]
    assert e.book("PETR4").depth() == ([], [(1000, [(new_id(out), 100)])])


def test_the_published_book_shows_an_icebergs_visible_slice_only() -> None:
    # found in review: the Redis book the market-data API serves summed leaves, so a 1,000-share iceberg
    # showing 100 was published as 1,000 while the L2 feed said 100
    import json

    from engine_service.service import book_snapshot

    e = make_engine()
    e.process(order("SELL", 1000, 1010, "i", "A", display_qty=100))
    e.process(order("SELL", 200, 1010, "p", "B"))
    e.process(order("BUY", 300, 1000, "b", "C"))
    book = json.loads(book_snapshot(e, "PETR4"))
    assert [(a["price_cents"], a["quantity"], a["orders"]) for a in book["asks"]] == [(1010, 300, 2)]
    assert [(b["price_cents"], b["quantity"], b["orders"]) for b in book["bids"]] == [(1000, 300, 1)]
