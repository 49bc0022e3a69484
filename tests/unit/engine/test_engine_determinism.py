"""Determinism, encoding and snapshot/restore."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from engine_helpers import random_session, two_instrument_engine

from engine_service.core import (
    ClockTick,
    Engine,
    decode_input,
    decode_output,
    encode_input,
    encode_output,
    encode_outputs,
)


def run(msgs: list[object], engine: Engine | None = None) -> bytes:
    engine = engine or two_instrument_engine()
    return b"".join(encode_outputs(engine.process(m)) for m in msgs)


def test_workload_exercises_the_engine() -> None:
    engine = two_instrument_engine()
    out = engine.process_many(random_session(1, 3000))
    kinds = {o[0] for o in out}
    exec_types = {o.exec_type for o in out if o[0] == "EXEC"}
    assert kinds == {"EXEC", "TRADE", "L1", "L2", "PHASE", "AUCTION"}
    assert {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REPLACED", "REJECTED", "EXPIRED",
            "TRIGGERED"} <= exec_types
    # sequence numbers are gapless per instrument
    by_instrument: dict[str, list[int]] = {}
    for o in out:
        by_instrument.setdefault(str(o[2]), []).append(int(o[1]))
    for seqs in by_instrument.values():
        assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_inputs_give_byte_identical_outputs(seed: int) -> None:
    msgs = random_session(seed, 3000)
    assert run(msgs) == run(msgs)


@pytest.mark.parametrize("seed", [4, 5])
def test_snapshot_then_replay_equals_uninterrupted_run(seed: int) -> None:
    msgs = random_session(seed, 3000)
    whole = two_instrument_engine()
    expected = run(msgs, whole)
    for cut in (1, 700, 1500, 2900):
        first = two_instrument_engine()
        head = run(msgs[:cut], first)
        restored = Engine.restore(first.snapshot())
        tail = run(msgs[cut:], restored)
        assert head + tail == expected
        assert pickle.loads(restored.snapshot()) == pickle.loads(whole.snapshot())


def test_codec_round_trips() -> None:
    engine = two_instrument_engine()
    msgs = random_session(6, 500)
    for msg in msgs:
        assert decode_input(encode_input(msg)) == msg
        for out in engine.process(msg):
            data = encode_output(out)
            assert b" " not in data
            assert decode_output(data) == out


def test_stale_clock_tick_is_ignored() -> None:
    engine = two_instrument_engine()
    msgs = random_session(7, 200)
    engine.process_many(msgs)
    assert engine.process(ClockTick(1)) == []


def _exploding_after_one_report(engine: Engine, symbol: str) -> None:
    """Makes the book's next new order emit its NEW report, then fail mid-way (a bug's stand-in)."""
    book = engine.books[symbol]
    real = book.new_order

    def new_order(msg: Any) -> None:
        real(msg)
        raise RuntimeError("boom")

    book.new_order = new_order  # type: ignore[method-assign]


@pytest.mark.parametrize("many", [False, True])
def test_a_failed_input_gives_one_reject_in_the_books_own_gapless_sequence(many: bool) -> None:
    from engine_helpers import make_engine, order

    engine = make_engine()
    first = engine.process(order("BUY", 100, 1000, cid="a"))
    last_seq = max(o[1] for o in first)
    _exploding_after_one_report(engine, "PETR4")
    msg = order("BUY", 100, 1000, cid="b")
    out = engine.process_many([msg]) if many else engine.process(msg)
    (reject,) = out
    assert reject.exec_type == "REJECTED" and reject.reason == "INVALID_ORDER"
    assert reject.client_order_id == "b" and reject.instrument == "PETR4"
    # the NEW it had emitted is gone and its sequence number reused: no gap, no exec id used twice
    assert reject.seq == reject.exec_id == last_seq + 1
    after = engine.process(order("SELL", 100, 1000, cid="c"))
    assert [o[1] for o in after] == list(range(last_seq + 2, last_seq + 2 + len(after)))


def test_an_invalid_reference_for_a_known_instrument_uses_that_books_sequence() -> None:
    from engine_helpers import make_engine, order

    from engine_service.core import SetReferencePrice

    engine = make_engine(tick=5, reference_price=1000)
    seqs = [o[1] for o in engine.process(order("BUY", 100, 1000, cid="a"))]
    (reject,) = engine.process(SetReferencePrice("PETR4", 1003))  # off the tick
    assert reject.reason == "INVALID_PRICE" and reject.seq == max(seqs) + 1
