"""The order domain: validation rules, lot/tick/tunnel/protection arithmetic, and the state machine under
execution reports delivered in any order, with duplicates."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mybroker.contracts.engine import ExecType, ExecutionReportMessage, OrderType, Side, TimeInForce
from mybroker.contracts.orders import OrderStatus
from mybroker.orders.domain import (
    InstrumentRules,
    Order,
    OrderError,
    PlaceRequest,
    apply_report,
    protection_price,
    rejection_band,
    sort_reports,
    split_ticker,
    validate,
    validate_replace,
)

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
PETR4 = InstrumentRules("PETR4", round_lot=100, tick_size_cents=1, rejection_tunnel_pct=10)


def req(**kw: object) -> PlaceRequest:
    base: dict[str, object] = {"ticker": "PETR4", "side": Side.BUY, "order_type": OrderType.LIMIT, "quantity": 100,
                               "price_cents": 3500}
    base.update(kw)
    return PlaceRequest(**base)  # type: ignore[arg-type]


def refused(code: str, field: str | None, r: PlaceRequest, rules: InstrumentRules = PETR4,
            ref: int | None = 3500) -> None:
    with pytest.raises(OrderError) as e:
        validate(r, rules, ref, TODAY)
    assert e.value.code == code
    if field is not None:
        assert e.value.field == field


# --- tickers, lots, ticks ---------------------------------------------------------------------------------

def test_split_ticker() -> None:
    assert split_ticker("petr4f") == ("PETR4", True)
    assert split_ticker("PETR4") == ("PETR4", False)
    assert split_ticker("BOVA11F") == ("BOVA11", True)
    assert split_ticker("BOVA11") == ("BOVA11", False)


def test_round_lot_and_fractional_quantities() -> None:
    validate(req(quantity=300), PETR4, 3500, TODAY)
    refused("INVALID_LOT", "quantity", req(quantity=150))
    v = validate(req(ticker="PETR4F", quantity=99), PETR4, 3500, TODAY)
    assert v.instrument == "PETR4F"
    refused("INVALID_LOT", "quantity", req(ticker="PETR4F", quantity=100))
    refused("INVALID_LOT", "displayQuantity", req(quantity=1000, display_quantity=150))


def test_tick() -> None:
    rules = replace(PETR4, tick_size_cents=5)
    validate(req(price_cents=3505), rules, 3500, TODAY)
    refused("INVALID_TICK", "priceCents", req(price_cents=3503), rules)
    refused("INVALID_TICK", "stopPriceCents",
            req(order_type=OrderType.STOP_LIMIT, price_cents=3500, stop_price_cents=3502), rules)


# --- tunnels and protection -------------------------------------------------------------------------------

def test_rejection_band_is_inclusive_and_integer() -> None:
    assert rejection_band(3500, 10).upper == 3850 and rejection_band(3500, 10).lower == 3150
    assert rejection_band(3333, 10).upper == 3666  # floor 3666.3
    assert rejection_band(3333, 10).lower == 3000  # ceil 2999.7
    validate(req(price_cents=3850), PETR4, 3500, TODAY)
    refused("PRICE_OUT_OF_BAND", "priceCents", req(price_cents=3851))
    validate(req(side=Side.SELL, price_cents=3150), PETR4, 3500, TODAY)
    refused("PRICE_OUT_OF_BAND", "priceCents", req(side=Side.SELL, price_cents=3149))
    validate(req(side=Side.SELL, price_cents=9000), PETR4, 3500, TODAY)  # a sell far above is only unlikely


def test_protection_price_is_on_the_tick_and_inside_the_tunnel() -> None:
    assert protection_price(Side.BUY, 3500, 10, 1) == 3850
    assert protection_price(Side.SELL, 3500, 10, 1) == 3150
    assert protection_price(Side.BUY, 3333, 10, 5) == 3665
    assert protection_price(Side.SELL, 3333, 10, 5) == 3000
    v = validate(req(order_type=OrderType.MARKET, price_cents=None), PETR4, 3500, TODAY)
    assert v.protection_price_cents == 3850 and v.reservation_price_cents == 3850 and v.price_cents == 0
    s = validate(req(order_type=OrderType.STOP, price_cents=None, stop_price_cents=3400, side=Side.SELL),
                 PETR4, 3500, TODAY)
    assert s.protection_price_cents == 3150


@given(ref=st.integers(1, 10_000_000), pct=st.integers(1, 99), tick=st.integers(1, 100), buy=st.booleans())
def test_protection_property(ref: int, pct: int, tick: int, buy: bool) -> None:
    side = Side.BUY if buy else Side.SELL
    p = protection_price(side, ref, pct, tick)
    band = rejection_band(ref, pct)
    assert p % tick == 0 and p > 0
    if buy:
        assert p <= max(band.upper, tick)
    else:
        assert p >= band.lower


def test_no_reference_price_allows_limit_refuses_market() -> None:
    validate(req(price_cents=999_999), PETR4, None, TODAY)
    refused("NO_REFERENCE_PRICE", "orderType", req(order_type=OrderType.MARKET, price_cents=None), ref=None)
    refused("NO_REFERENCE_PRICE", None, req(order_type=OrderType.STOP, price_cents=None, stop_price_cents=3400),
            ref=None)


# --- shape rules ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "field"), [
    ({"price_cents": None}, "priceCents"),
    ({"order_type": OrderType.MARKET}, "priceCents"),
    ({"order_type": OrderType.STOP_LIMIT}, "stopPriceCents"),
    ({"stop_price_cents": 3400}, "stopPriceCents"),
    ({"time_in_force": TimeInForce.GTD}, "expireDate"),
    ({"time_in_force": TimeInForce.GTD, "expire_date": date(2026, 11, 24)}, "expireDate"),
    ({"expire_date": date(2026, 12, 1)}, "expireDate"),
    ({"display_quantity": 100}, "displayQuantity"),
    ({"quantity": 200, "display_quantity": 100, "time_in_force": TimeInForce.IOC}, "displayQuantity"),
    ({"min_quantity": 200}, "minQuantity"),
])
def test_shape_errors_name_the_field(kw: dict[str, object], field: str) -> None:
    refused("VALIDATION_ERROR", field, req(**kw))


def test_suspended() -> None:
    refused("INSTRUMENT_SUSPENDED", "ticker", req(), replace(PETR4, suspended=True))


def test_every_tif_is_accepted() -> None:
    for tif in TimeInForce:
        validate(req(time_in_force=tif, expire_date=date(2026, 12, 1) if tif is TimeInForce.GTD else None),
                 PETR4, 3500, TODAY)


def test_request_hash_is_stable_and_discriminating() -> None:
    assert req(client_order_id="x").request_hash() == req(client_order_id="x").request_hash()
    assert req(client_order_id="x").request_hash() != req(client_order_id="x", quantity=200).request_hash()


# --- the state machine ------------------------------------------------------------------------------------

def order(**kw: object) -> Order:
    base: dict[str, object] = dict(order_id="o1", account_id="acc", client_order_id="c1", instrument="PETR4",
                                   side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                                   quantity=300, price_cents=3500, trade_date=TODAY, created_at=NOW,
                                   leaves_quantity=300, engine_client_order_id="o1", event_seq=1)
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def report(exec_id: int, exec_type: ExecType, cum: int = 0, last_qty: int = 0, last_px: int = 0, qty: int = 300,
           coid: str = "o1", reason: str = "", price: int = 3500, orig: str = "") -> ExecutionReportMessage:
    return ExecutionReportMessage(
        exec_id=exec_id, instrument="PETR4", exec_type=exec_type, engine_order_id=7, client_order_id=coid,
        orig_client_order_id=orig,
        investor_id="acc", side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
        price_cents=price, order_quantity=qty, cum_quantity=cum, leaves_quantity=max(qty - cum, 0),
        avg_price_cents=last_px, last_price_cents=last_px, last_quantity=last_qty, trade_id=exec_id * 10 if
        last_qty else 0, reason=reason, transact_time_ns=1_795_000_000_000_000_000 + exec_id)


def run(o: Order, reports: list[ExecutionReportMessage]) -> tuple[Order, list[str]]:
    seen: set[int] = set()
    events: list[str] = []
    for r in reports:
        if r.exec_id in seen:  # the (instrument, exec_id) unique key
            continue
        seen.add(r.exec_id)
        t = apply_report(o, r, 1, NOW)
        events += [e.event_type for e in t.events]
        o = t.order
    return o, events


LIFE = [report(1, ExecType.NEW), report(2, ExecType.PARTIALLY_FILLED, 100, 100, 3500),
        report(3, ExecType.PARTIALLY_FILLED, 200, 100, 3490), report(4, ExecType.FILLED, 300, 100, 3480)]


def test_in_order_life() -> None:
    o, events = run(order(), LIFE)
    assert o.status is OrderStatus.FILLED and o.cum_quantity == 300 and o.leaves_quantity == 0
    assert o.avg_price_cents == (100 * 3500 + 100 * 3490 + 100 * 3480) // 300
    assert events == ["order.accepted", "order.filled", "order.filled", "order.filled"]
    assert o.event_seq == 5


@settings(max_examples=200)
@given(st.permutations(LIFE + LIFE[1:3]))
def test_any_order_with_duplicates_converges(reports: list[ExecutionReportMessage]) -> None:
    o, events = run(order(), reports)
    assert o.status is OrderStatus.FILLED and o.cum_quantity == 300 and o.filled_quantity == 300
    assert events.count("order.filled") == 3  # every fill exactly once, whatever the order
    assert o.avg_price_cents == 3490


def test_cum_never_goes_backwards() -> None:
    o, _ = run(order(), [report(3, ExecType.PARTIALLY_FILLED, 200, 100, 3490)])
    assert o.cum_quantity == 200  # the engine says 200 even though only one fill is recorded yet
    o, _ = run(o, [report(2, ExecType.PARTIALLY_FILLED, 100, 100, 3500)])
    assert o.cum_quantity == 200 and o.filled_quantity == 200 and o.status is OrderStatus.PARTIALLY_FILLED


def test_terminal_is_final_but_late_fills_count() -> None:
    o, events = run(order(), [report(1, ExecType.NEW), report(5, ExecType.CANCELED, 100)])
    assert o.status is OrderStatus.CANCELED
    o2, ev2 = run(o, [report(3, ExecType.PARTIALLY_FILLED, 100, 100, 3500), report(6, ExecType.NEW)])
    assert o2.status is OrderStatus.CANCELED and o2.cum_quantity == 100 and o2.leaves_quantity == 0
    assert ev2 == ["order.filled"]
    assert events == ["order.accepted", "order.canceled"]


def test_rejected_new_order() -> None:
    o, events = run(order(), [report(1, ExecType.REJECTED, reason="PRICE_OUT_OF_BAND")])
    assert o.status is OrderStatus.REJECTED and o.reason == "PRICE_OUT_OF_BAND" and events == ["order.rejected"]


def test_a_refused_replace_leaves_the_order_and_says_so_with_the_standing_terms() -> None:
    o, _ = run(order(), [report(1, ExecType.NEW)])
    o = replace(o, replace_seq=1, engine_client_order_id="o1~1")
    # the engine's reject of a replace: the new client order id, the standing one as orig, the standing terms
    t = apply_report(o, report(2, ExecType.REJECTED, coid="o1~1", orig="o1", reason="INVALID_LOT"), 0, NOW)
    assert t.order.status is OrderStatus.NEW and t.order.engine_client_order_id == "o1"
    assert [e.event_type for e in t.events] == ["order.replace_rejected"]
    assert (t.order.quantity, t.order.price_cents, t.order.event_seq) == (300, 3500, o.event_seq + 1)
    o3, events = run(o, [report(2, ExecType.REJECTED, coid="o1~1", orig="o1", reason="x"),
                         report(3, ExecType.REJECTED, coid="o1", orig="o1", reason="UNKNOWN_ORDER")])
    assert o3.status is OrderStatus.NEW and events == ["order.replace_rejected"]


def test_a_refused_cancel_says_nothing() -> None:
    o, _ = run(order(), [report(1, ExecType.NEW)])
    o2, events = run(o, [report(2, ExecType.REJECTED, coid="o1", orig="o1", reason="TOO_LATE")])
    assert o2.status is OrderStatus.NEW and events == [] and o2.engine_client_order_id == "o1"


def test_an_older_refused_replace_waits_for_the_newer_one() -> None:
    o, _ = run(order(), [report(1, ExecType.NEW)])
    o = replace(o, replace_seq=2, engine_client_order_id="o1~2")  # two replaces sent, neither answered
    o2, events = run(o, [report(2, ExecType.REJECTED, coid="o1~1", orig="o1", reason="INVALID_LOT")])
    assert events == [] and o2.engine_client_order_id == "o1~2"
    o3, events = run(o2, [report(3, ExecType.REPLACED, qty=600, coid="o1~2", orig="o1", price=3400)])
    assert events == ["order.replaced"] and (o3.quantity, o3.price_cents) == (600, 3400)


def test_replaced_takes_the_engine_values() -> None:
    o, _ = run(order(), [report(1, ExecType.NEW)])
    o, events = run(replace(o, replace_seq=1, engine_client_order_id="o1~1"),
                    [report(2, ExecType.REPLACED, qty=500, coid="o1~1", price=3400)])
    assert (o.quantity, o.price_cents, o.leaves_quantity, o.status) == (500, 3400, 500, OrderStatus.NEW)
    assert events == ["order.replaced"]


def test_expired() -> None:
    o, events = run(order(), [report(1, ExecType.NEW), report(2, ExecType.EXPIRED)])
    assert o.status is OrderStatus.EXPIRED and events[-1] == "order.expired"


def test_sort_reports() -> None:
    rs = [report(3, ExecType.NEW), report(1, ExecType.NEW), report(2, ExecType.NEW)]
    assert [r.exec_id for r in sort_reports(rs)] == [1, 2, 3]


# --- replace rules ----------------------------------------------------------------------------------------

def test_validate_replace() -> None:
    o = order(status=OrderStatus.PARTIALLY_FILLED, cum_quantity=100)
    assert validate_replace(o, 500, None, PETR4, 3500) == (500, 3500)
    assert validate_replace(o, None, 3400, PETR4, 3500) == (300, 3400)
    cases = [(100, None, "VALIDATION_ERROR"), (250, None, "INVALID_LOT"), (None, 3900, "PRICE_OUT_OF_BAND"),
             (None, None, "VALIDATION_ERROR"), (300, 3500, "VALIDATION_ERROR")]
    for qty, px, code in cases:
        with pytest.raises(OrderError) as e:
            validate_replace(o, qty, px, PETR4, 3500)
        assert e.value.code == code, (qty, px)
    with pytest.raises(OrderError) as e:
        validate_replace(order(status=OrderStatus.FILLED), 500, None, PETR4, 3500)
    assert e.value.code == "ORDER_NOT_REPLACEABLE" and e.value.status == 409
    with pytest.raises(OrderError):
        validate_replace(order(order_type=OrderType.MARKET, price_cents=0), None, 3400, PETR4, 3500)


def test_permutations_small_exhaustive() -> None:
    for perm in itertools.permutations(LIFE):
        o, events = run(order(), list(perm))
        assert o.status is OrderStatus.FILLED and events.count("order.filled") == 3
