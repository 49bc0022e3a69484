"""The liquidity agents' quote ladder, and that a user order trades against it (in process, through the
same translation as the service)."""

from __future__ import annotations

import random
import uuid

from engine_helpers import make_engine
from hypothesis import given
from hypothesis import strategies as st
from mybroker.contracts.engine import NewOrderCommand, OrderType, SelfTradePrevention, Side, TimeInForce

from engine_service.agents import AgentConfig, ladder
from engine_service.core import ExecutionReport
from engine_service.service import ServiceState
from engine_service.translate import to_input

configs = st.builds(AgentConfig, spread_bps=st.integers(0, 500), depth=st.integers(1, 10),
                    level_step_bps=st.integers(0, 300), lots_min=st.integers(1, 3), lots_max=st.integers(3, 10))


@given(reference=st.integers(1, 1_000_000), tick=st.sampled_from([1, 2, 5, 10, 100]),
       lot=st.sampled_from([1, 10, 100]), cfg=configs, seed=st.integers(0, 2**32))
def test_ladder_is_never_crossed_on_the_tick_in_lots(reference: int, tick: int, lot: int, cfg: AgentConfig,
                                                     seed: int) -> None:
    quotes = ladder(reference, tick, lot, cfg, random.Random(seed))
    bids = [p for s, p, _ in quotes if s == "BUY"]
    asks = [p for s, p, _ in quotes if s == "SELL"]
    assert len(asks) == cfg.depth and len(bids) <= cfg.depth
    assert all(p > 0 and p % tick == 0 for p in bids + asks)
    assert all(q % lot == 0 and cfg.lots_min * lot <= q <= cfg.lots_max * lot for _, _, q in quotes)
    if bids:
        assert max(bids) < min(asks)
        assert max(bids) <= reference <= min(asks)
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)


def test_ladder_is_seeded() -> None:
    cfg = AgentConfig()
    assert ladder(3050, 1, 100, cfg, random.Random(1)) == ladder(3050, 1, 100, cfg, random.Random(1))


def agent_command(side: str, price: int, qty: int) -> NewOrderCommand:
    return NewOrderCommand(command_id=str(uuid.uuid4()), instrument="PETR4",
                           client_order_id=f"MM-PETR4-{uuid.uuid4().hex[:12]}", investor_id="MM-PETR4",
                           side=Side(side), order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY,
                           quantity=qty, price_cents=price, self_trade_prevention=SelfTradePrevention.CANCEL_RESTING)


def test_a_user_order_fills_against_the_agents() -> None:
    engine = make_engine(reference_price=3000)  # 10:30 on a Monday: continuous trading
    assert engine.phase("PETR4") == "CONTINUOUS"
    state = ServiceState()
    quotes = ladder(3000, 1, 100, AgentConfig(), random.Random(7))
    for side, price, qty in quotes:
        out = engine.process(to_input(agent_command(side, price, qty), state.order_ids))
        state.learn(out)
        assert [r.exec_type for r in out if isinstance(r, ExecutionReport)] == ["NEW"]
    best_ask = min(p for s, p, _ in quotes if s == "SELL")
    ask_qty = sum(q for s, p, q in quotes if s == "SELL" and p == best_ask)
    user = NewOrderCommand(command_id="u", instrument="PETR4", client_order_id="user-1", investor_id="investor-9",
                           side=Side.BUY, order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC,
                           quantity=ask_qty + 100)
    out = engine.process(to_input(user, state.order_ids))
    mine = [r for r in out if isinstance(r, ExecutionReport) and r.client_order_id == "user-1"]
    fills = [r for r in mine if r.exec_type in ("PARTIALLY_FILLED", "FILLED")]
    assert fills and fills[0].last_price == best_ask and fills[0].last_qty == ask_qty
    assert sum(r.last_qty for r in fills) == ask_qty + 100  # the rest from the next level
    assert mine[-1].exec_type == "FILLED" and mine[-1].leaves_qty == 0


@given(reference=st.integers(1, 1_000_000), tick=st.sampled_from([1, 2, 5, 10, 100]),
       lot=st.sampled_from([2, 10, 100, 1000]), cfg=configs, seed=st.integers(0, 2**32))
def test_fractional_ladder_is_in_odd_lots(reference: int, tick: int, lot: int, cfg: AgentConfig, seed: int) -> None:
    quotes = ladder(reference, tick, 1, cfg, random.Random(seed), max_qty=lot - 1)
    bids = [p for s, p, _ in quotes if s == "BUY"]
    asks = [p for s, p, _ in quotes if s == "SELL"]
    assert len(asks) == cfg.depth and all(p > 0 and p % tick == 0 for p in bids + asks)
    assert all(1 <= q <= min(cfg.odd_max, lot - 1) for _, _, q in quotes)
    if bids:
        assert max(bids) <= reference <= min(asks) and max(bids) < min(asks)


def test_agents_quote_each_fractional_book_unless_told_not_to() -> None:
    from engine_service.agents import books_of
    from engine_service.core import InstrumentConfig

    instruments = [InstrumentConfig("PETR4", tick=1), InstrumentConfig("HGLG11", lot=1),
                   InstrumentConfig("VALE3", lot=10, tick=5)]
    books = {symbol: (tick, lot, max_qty, cfg.depth) for symbol, tick, lot, max_qty, cfg in
             books_of(instruments, AgentConfig(), {})}
    assert books == {"PETR4": (1, 100, 0, 5), "PETR4F": (1, 1, 99, 3), "HGLG11": (1, 1, 0, 5),
                     "VALE3": (5, 10, 0, 5), "VALE3F": (5, 1, 9, 3)}
    off = {symbol for symbol, *_ in books_of(instruments, AgentConfig(), {"PETR4": AgentConfig(fractional=False)})}
    assert off == {"PETR4", "HGLG11", "VALE3", "VALE3F"}


def test_a_user_odd_lot_fills_against_the_agents_fractional_ladder() -> None:
    engine = make_engine(reference_price=3000)
    state = ServiceState()
    quotes = ladder(3000, 1, 1, AgentConfig(depth=3), random.Random(3), max_qty=99)
    for side, price, qty in quotes:
        cmd = agent_command(side, price, qty).model_copy(update={"instrument": "PETR4F",
                                                                 "investor_id": "MM-PETR4F"})
        out = engine.process(to_input(cmd, state.order_ids))
        state.learn(out)
        assert [r.exec_type for r in out if isinstance(r, ExecutionReport)] == ["NEW"]
    best_ask = min(p for s, p, _ in quotes if s == "SELL")
    user = NewOrderCommand(command_id="u", instrument="PETR4F", client_order_id="user-f", investor_id="investor-9",
                           side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.IOC, quantity=1,
                           price_cents=best_ask)
    out = engine.process(to_input(user, state.order_ids))
    mine = [r for r in out if isinstance(r, ExecutionReport) and r.client_order_id == "user-f"]
    assert mine[-1].exec_type == "FILLED" and mine[-1].last_price == best_ask
