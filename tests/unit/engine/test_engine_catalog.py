"""The engine follows the asset catalog (``CatalogUpdate``): listings, tick, lot and tunnel changes,
suspension and re-activation, newest version wins, and all of it survives snapshot + replay."""

from __future__ import annotations

import pickle
from datetime import date

from engine_helpers import make_engine, new_id, ns, of_kind, order, reports, trades

from engine_service.core import (
    CancelOrder,
    CatalogUpdate,
    ClockTick,
    Engine,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
    decode_input,
    encode_input,
    encode_outputs,
)


def listing(symbol: str = "ZNEW3", version: int = 1, lot: int = 100, tick: int = 1, rejection_bps: int = 1000,
            auction_bps: int = 500, active: bool = True) -> CatalogUpdate:
    return CatalogUpdate(symbol, lot, tick, rejection_bps, auction_bps, active, version)


def status(e: Engine, msg: object) -> tuple[str, str]:
    r = reports(e.process(msg))[0]
    return str(r.exec_type), str(r.reason)


def test_a_new_listing_gets_its_books_at_once_and_trades() -> None:
    e = make_engine()  # 10:30, continuous trading
    assert status(e, order("BUY", 100, 500, symbol="ZNEW3")) == ("REJECTED", "UNKNOWN_INSTRUMENT")
    out = e.process(listing())
    assert [(p.instrument, p.phase) for p in of_kind(out, "PHASE")] == [("ZNEW3", "CONTINUOUS"),
                                                                        ("ZNEW3F", "CONTINUOUS")]
    assert "ZNEW3" in [c.symbol for c in e.instruments]
    assert status(e, order("SELL", 100, 500, "s", "A", symbol="ZNEW3")) == ("NEW", "")
    out = e.process(order("BUY", 100, 500, "b", "B", symbol="ZNEW3"))
    assert [(t.instrument, t.qty, t.price) for t in trades(out)] == [("ZNEW3", 100, 500)]
    # the fractional market of the new listing: odd lots only
    assert status(e, order("BUY", 100, 500, symbol="ZNEW3F")) == ("REJECTED", "INVALID_LOT")
    assert status(e, order("BUY", 7, 500, "f", symbol="ZNEW3F")) == ("NEW", "")


def test_a_listing_never_reuses_the_exec_ids_of_its_symbols_earlier_rejects() -> None:
    # found in review: rejects of an unknown symbol took the engine-wide counter, the new book counted from 0,
    # and its first reports (fills among them) repeated the rejects' (instrument, exec id): the broker, which
    # dedupes on that pair, dropped real fills
    e = make_engine()
    rejects = [r for i in range(8) for r in reports(e.process(order("BUY", 100, 500, f"u{i}", symbol="ZNEW3")))]
    assert [(r.instrument, r.exec_id, r.reason) for r in rejects] == [
        ("ZNEW3", n, "UNKNOWN_INSTRUMENT") for n in range(1, 9)]
    reports(e.process(order("BUY", 100, 500, "o", symbol="OTHR3")))  # another symbol counts on its own
    e.process(listing())
    after = reports(e.process(order("SELL", 100, 500, "s", "A", symbol="ZNEW3")))
    after += reports(e.process(order("BUY", 100, 500, "b", "B", symbol="ZNEW3")))
    assert [r.exec_type for r in after] == ["NEW", "NEW", "FILLED", "FILLED"]
    ids = [r.exec_id for r in after]
    assert min(ids) > 8 and len(set(ids)) == len(ids), ids  # the book's sequence goes on after the rejects
    assert Engine.restore(e.snapshot()).unlisted_seq == {"OTHR3": 1}  # the count survives a restart


def test_a_listing_made_while_closed_announces_its_book_and_opens_with_the_session() -> None:
    e = make_engine(at=ns(8, 0))
    out = e.process(listing())
    assert [(p.instrument, p.phase) for p in of_kind(out, "PHASE")] == [("ZNEW3", "CLOSED"), ("ZNEW3F", "CLOSED")]
    assert status(e, order("BUY", 100, 500, symbol="ZNEW3")) == ("REJECTED", "MARKET_CLOSED")
    e.process(ClockTick(ns(10, 30)))
    assert e.phase("ZNEW3") == "CONTINUOUS" and e.phase("ZNEW3F") == "CONTINUOUS"


def test_a_tick_other_than_one_cent_applies_to_new_orders() -> None:
    e = make_engine()
    assert status(e, order("BUY", 100, 997, "a")) == ("NEW", "")
    e.process(listing("PETR4", tick=5))
    assert e.book("PETR4").tick == 5 and e.book("PETR4F").tick == 5
    assert status(e, order("BUY", 100, 998, "b")) == ("REJECTED", "INVALID_TICK")
    assert status(e, order("BUY", 10, 998, "bf", symbol="PETR4F")) == ("REJECTED", "INVALID_TICK")
    assert status(e, order("BUY", 100, 995, "c")) == ("NEW", "")
    # the resting order priced on the old tick stays, and trades
    out = e.process(order("SELL", 100, 995, "s", "B"))
    assert [(t.price, t.buy_order_id) for t in trades(out)] == [(997, 1)]
    # replaces follow the new tick too
    assert status(e, ReplaceOrder("PETR4", 2, "c2", 100, 993)) == ("REJECTED", "INVALID_TICK")


def test_a_lot_change_applies_to_both_markets() -> None:
    e = make_engine()
    e.process(listing("PETR4", lot=10))
    assert status(e, order("BUY", 100, 1000, "a")) == ("NEW", "")  # 100 is still a multiple of 10
    assert status(e, order("BUY", 15, 1000, "b")) == ("REJECTED", "INVALID_LOT")
    assert status(e, order("BUY", 20, 1000, "c")) == ("NEW", "")
    assert status(e, order("BUY", 10, 1000, "d", symbol="PETR4F")) == ("REJECTED", "INVALID_LOT")
    assert status(e, order("BUY", 9, 1000, "e", symbol="PETR4F")) == ("NEW", "")
    # a round lot of 1 leaves nothing to the fractional market: its book is suspended
    e.process(listing("PETR4", version=2, lot=1))
    assert status(e, order("BUY", 3, 1000, "f")) == ("NEW", "")
    assert status(e, order("BUY", 3, 1000, "g", symbol="PETR4F")) == ("REJECTED", "INSTRUMENT_SUSPENDED")
    # and a round lot above 1 again reopens it (through an auction: continuous trading is on)
    e.process(listing("PETR4", version=3, lot=100))
    assert e.phase("PETR4F") == "VOLATILITY_AUCTION" and e.phase("PETR4") == "CONTINUOUS"


def test_a_lot_of_one_listing_has_no_fractional_book_until_its_lot_grows() -> None:
    e = make_engine()
    e.process(listing("ZFII11", lot=1))
    assert "ZFII11F" not in e.books
    assert status(e, order("BUY", 1, 500, symbol="ZFII11")) == ("NEW", "")
    out = e.process(listing("ZFII11", version=2, lot=100))
    assert [(p.instrument, p.phase) for p in of_kind(out, "PHASE")] == [("ZFII11F", "CONTINUOUS")]
    assert status(e, order("BUY", 1, 500, "f", symbol="ZFII11F")) == ("NEW", "")


def test_a_tunnel_change_moves_the_rejection_band() -> None:
    e = make_engine(reference_price=1000)
    assert status(e, order("BUY", 100, 1090, "a")) == ("NEW", "")
    e.process(listing("PETR4", rejection_bps=500))
    assert status(e, order("BUY", 100, 1090, "b")) == ("REJECTED", "PRICE_OUT_OF_BAND")
    assert status(e, order("BUY", 100, 1050, "c")) == ("NEW", "")
    assert status(e, order("BUY", 10, 1051, "d", symbol="PETR4F")) == ("REJECTED", "PRICE_OUT_OF_BAND")


def test_a_suspension_halts_at_once_and_a_reactivation_reopens_through_an_auction() -> None:
    e = make_engine(reference_price=1000)
    resting = new_id(e.process(order("SELL", 100, 1000, "s", "A")))
    other = new_id(e.process(order("SELL", 100, 1001, "s2", "A")))
    out = e.process(listing("PETR4", active=False))
    assert [(p.instrument, p.phase) for p in of_kind(out, "PHASE")] == [("PETR4", "HALTED"), ("PETR4F", "HALTED")]
    # no new order, no replace, no matching; the resting orders stay and can be cancelled
    assert status(e, order("BUY", 100, 1000, "b", "B")) == ("REJECTED", "INSTRUMENT_SUSPENDED")
    assert status(e, order("BUY", 10, 1000, "bf", "B", symbol="PETR4F")) == ("REJECTED", "INSTRUMENT_SUSPENDED")
    assert status(e, ReplaceOrder("PETR4", resting, "s~1", 100, 999)) == ("REJECTED", "INSTRUMENT_SUSPENDED")
    assert e.book("PETR4").best_ask() == 1000
    assert status(e, CancelOrder("PETR4", other, "s2")) == ("CANCELED", "CANCELED_BY_CLIENT")
    assert e.process(Resume("PETR4")) == []  # an operator's resume does not lift a catalog suspension
    # the close ends the day's orders; the next session does not open a suspended instrument
    e.process(ClockTick(ns(18, 30)))
    assert e.phase("PETR4") == "CLOSED" and e.book("PETR4").depth() == ([], [])
    e.process(ClockTick(ns(10, 30, day=date(2026, 11, 17))))
    assert e.phase("PETR4") == "HALTED" and e.phase("PETR4F") == "HALTED"
    # re-activated during continuous trading: a volatility auction, then continuous again
    out = e.process(listing("PETR4", version=2))
    assert [(p.instrument, p.phase) for p in of_kind(out, "PHASE")] == [("PETR4", "VOLATILITY_AUCTION"),
                                                                        ("PETR4F", "VOLATILITY_AUCTION")]
    assert status(e, order("BUY", 100, 1000, "b2", "B")) == ("NEW", "")
    assert status(e, order("SELL", 100, 1000, "s3", "A")) == ("NEW", "")
    out = e.process(ClockTick(ns(10, 36, day=date(2026, 11, 17))))
    assert [(t.qty, t.price) for t in trades(out)] == [(100, 1000)]  # the auction uncrossed
    assert e.phase("PETR4") == "CONTINUOUS"


def test_a_reactivation_while_closed_waits_for_the_session() -> None:
    e = make_engine(at=ns(8, 0))
    e.process(listing("PETR4", active=False))
    assert e.phase("PETR4") == "HALTED"
    e.process(listing("PETR4", version=2))
    assert e.phase("PETR4") == "CLOSED"
    e.process(ClockTick(ns(10, 30)))
    assert e.phase("PETR4") == "CONTINUOUS"


def test_only_the_newest_version_applies() -> None:
    e = make_engine()
    e.process(listing("PETR4", version=20, tick=5))
    assert e.process(listing("PETR4", version=10, tick=2)) == []  # late: an older change
    assert e.process(listing("PETR4", version=20, active=False)) == []  # a redelivery: the same version
    assert e.book("PETR4").tick == 5 and e.phase("PETR4") == "CONTINUOUS"
    assert e.process(listing("PETR4F", version=30, active=False)) == []  # fractional books follow their instrument
    assert e.process(CatalogUpdate("PETR4", 0, 1, 1000, 500, True, 40)) == []  # malformed: a lot of 0
    assert e.process(CatalogUpdate("PETR4", 100, 1, 1000, 500, 1, 41)) == []  # type: ignore[arg-type]
    assert e.book("PETR4").lot == 100 and e.phase("PETR4F") == "CONTINUOUS"


def test_catalog_changes_survive_snapshot_and_replay() -> None:
    inputs = [
        listing("ZNEW3", version=1, tick=2), SetReferencePrice("ZNEW3", 500),
        order("SELL", 100, 500, "s", "A", symbol="ZNEW3"), listing("ZFII11", lot=1),
        listing("PETR4", version=1, lot=1), listing("ZNEW3", version=2, active=False),
        order("BUY", 100, 500, "b", "B", symbol="ZNEW3"),
    ]
    rest = [listing("ZNEW3", version=3, tick=2), order("BUY", 100, 502, "b2", "B", symbol="ZNEW3"),
            ClockTick(ns(10, 40)), order("BUY", 2, 1000, "f", symbol="PETR4F"), order("BUY", 3, 1000, "p")]
    whole = make_engine()
    expected = encode_outputs([o for m in inputs + rest for o in whole.process(m)][-12:])
    first = make_engine()
    for m in inputs:
        first.process(decode_input(encode_input(m)))  # the journal format carries the update
    restored = Engine.restore(first.snapshot())
    got = encode_outputs([o for m in rest for o in restored.process(m)][-12:])
    assert got == expected
    assert pickle.loads(restored.snapshot()) == pickle.loads(whole.snapshot())
    assert restored.book("ZNEW3").tick == 2 and restored.catalog_versions["ZNEW3"] == 3
    assert status(restored, order("BUY", 3, 1000, "f2", symbol="PETR4F")) == ("REJECTED", "INSTRUMENT_SUSPENDED")
