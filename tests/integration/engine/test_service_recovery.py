"""Crash recovery of the engine service, end to end through RabbitMQ.

The service runs in a subprocess (engine_entry.py: its own queue, exchange and journal; agents, Kafka and
Redis off). A seeded stream of a few thousand commands goes in; the process is killed with SIGKILL
mid-stream, restarted, and every execution report received downstream (deduped by (instrument, exec_id))
and the final books are compared with an uninterrupted in-process run of the same commands through the
core (``expected_run``, the service's own translation and dedupe rules).

Determinism: the subprocess's clock is fixed (``FixedClock(START_NS)``), so the only clock tick is the
first one, journaled before any command; there is no reference-price refresh. The journal's command order
is also checked against the publication order (a single publisher, one quorum queue).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mybroker.contracts.engine import (
    CancelOrderCommand,
    NewOrderCommand,
    OrderType,
    ReplaceOrderCommand,
    Side,
    TimeInForce,
    parse_command,
)
from pydantic import ValidationError

from engine_service.core import ClockTick, Engine, ExecutionReport, SessionCalendar
from engine_service.journal import Journal, Snapshots
from engine_service.service import ServiceState, report_json
from engine_service.translate import to_input
from tests.integration.engine.engine_helpers import INSTRUMENTS, START_NS, Reports, Topology, publish

pytestmark = pytest.mark.stack

ENTRY = Path(__file__).with_name("engine_entry.py")
ROOT = Path(__file__).resolve().parents[3]
N_COMMANDS = 3000


def command_stream(n: int, seed: int) -> list[tuple[str, bytes]]:
    """(message id, body): mostly limit orders near the reference, cancels and replaces of earlier orders,
    market orders, some invalid orders, re-sent duplicates and a little garbage."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    live: list[tuple[str, str, str]] = []  # (instrument, current client order id, side)
    mids = {"ZZTA3": (3000, 1), "ZZTB4": (2000, 5)}
    for i in range(n):
        r = rng.random()
        cid = f"cmd-{i}"
        cmd: Any
        if r < 0.01:
            out.append((cid, b'{"type":"NEW_ORDER","garbage":' + str(i).encode() + b"}"))
            continue
        if r < 0.03 and out:
            out.append(out[rng.randrange(len(out))])  # a duplicate delivery of an earlier command
            continue
        if r < 0.20 and live:
            inst, coid, side = live.pop(rng.randrange(len(live)))
            cmd = CancelOrderCommand(command_id=cid, instrument=inst, client_order_id=coid)
        elif r < 0.30 and live:
            k = rng.randrange(len(live))
            inst, coid, side = live[k]
            mid, tick = mids.get(inst.removesuffix("F"), (3000, 1))
            new_coid = f"{coid.split('~')[0]}~{i}"
            price = mid - tick * rng.randint(1, 10) if side == "BUY" else mid + tick * rng.randint(1, 10)
            cmd = ReplaceOrderCommand(command_id=cid, instrument=inst, orig_client_order_id=coid,
                                      client_order_id=new_coid, quantity=rng.randint(1, 6) * 100, price_cents=price)
            live[k] = (inst, new_coid, side)
        else:
            inst = rng.choice(["ZZTA3", "ZZTB4", "ZZTA3F"]) if r > 0.32 else rng.choice(["NOPE3", "ZZTA3"])
            mid, tick = mids.get(inst.removesuffix("F"), (3000, 1))
            side = rng.choice(["BUY", "SELL"])
            qty = rng.randint(1, 99) if inst.endswith("F") else rng.randint(1, 5) * 100
            if rng.random() < 0.03:
                qty += 50  # an odd lot on the standard book: INVALID_LOT
            cross = rng.random() < 0.25
            offset = tick * rng.randint(0, 8) if cross else -tick * rng.randint(1, 12)
            price = mid + offset if side == "BUY" else mid - offset
            market = rng.random() < 0.05
            coid = f"o{i}"
            cmd = NewOrderCommand(
                command_id=cid, instrument=inst, client_order_id=coid, investor_id=f"inv{rng.randrange(20)}",
                side=Side(side), order_type=OrderType.MARKET if market else OrderType.LIMIT,
                time_in_force=TimeInForce.IOC if rng.random() < 0.1 and not market else TimeInForce.DAY,
                quantity=qty, price_cents=0 if market else price)
            live.append((inst, coid, side))
        out.append((cid, cmd.model_dump_json().encode()))
    return out


def expected_run(stream: list[tuple[str, bytes]]) -> tuple[Engine, dict[tuple[str, int], dict[str, Any]], list[str]]:
    """The uninterrupted run: the service's rules (dedupe by command id, translation) on the core."""
    engine = Engine(INSTRUMENTS, SessionCalendar())
    state = ServiceState()
    reports: dict[tuple[str, int], dict[str, Any]] = {}
    applied: list[str] = []

    def take(outputs: list[Any]) -> None:
        state.learn(outputs)
        for o in outputs:
            if isinstance(o, ExecutionReport):
                reports[(o.instrument, o.exec_id)] = json.loads(report_json(o))

    take(engine.process(ClockTick(START_NS)))
    for _, body in stream:
        try:
            command = parse_command(body)
        except (ValidationError, ValueError):
            continue
        if command.command_id in state.seen_commands:
            continue
        take(engine.process(to_input(command, state.order_ids)))
        state.remember(command.command_id)
        applied.append(command.command_id)
    return engine, reports, applied


def journal_lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def start(journal: Path, topology: Topology, snapshot_every: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common" / "python")]))
    return subprocess.Popen([sys.executable, str(ENTRY), str(journal), topology.queue, topology.output_exchange,
                             str(snapshot_every)], env=env, cwd=ROOT)


def test_kill_9_mid_stream_loses_no_report(tmp_path: Path, channel: Any, topology: Topology,
                                           reports: Reports) -> None:
    stream = command_stream(N_COMMANDS, seed=20261116)
    engine, expected, applied = expected_run(stream)
    journal = tmp_path / "journal"
    proc = start(journal, topology, snapshot_every=400)
    killed_at = 0
    try:
        for i, (message_id, body) in enumerate(stream):
            publish(channel, topology.queue, body, message_id)
            if i % 50 == 0:
                reports.connection.process_data_events(time_limit=0)
            if not killed_at and journal_lines(journal / "journal.log") >= N_COMMANDS // 3:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                killed_at = journal_lines(journal / "journal.log")
        assert killed_at, "the service never got a third of the stream in before the end of publishing"
        proc = start(journal, topology, snapshot_every=400)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reports.connection.process_data_events(time_limit=0.1)
            if {(b["instrument"], b["exec_id"]) for b in reports.bodies()} >= expected.keys():
                break
        reports.drain(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    got: dict[tuple[str, int], dict[str, Any]] = {}
    duplicates = 0
    for report in reports.bodies():
        key = (report["instrument"], report["exec_id"])
        if key in got:
            duplicates += 1
            assert got[key] == report, f"re-published {key} differs"
        got[key] = report
    missing = expected.keys() - got.keys()
    assert not missing, f"{len(missing)} reports lost, e.g. {sorted(missing)[:5]}"
    assert got.keys() == expected.keys()
    assert got == expected
    print(f"\n{len(expected)} reports, {duplicates} re-published after the kill (journal had {killed_at} lines)")

    # the journal holds each applied command once, in publication order
    lines = list(Journal(journal).replay(0))
    assert [c for _, c, _ in lines if c] == applied
    # the final books (the shutdown snapshot) equal the uninterrupted run's
    latest = Snapshots(journal / "snapshots").latest()
    assert latest is not None and latest[0] == len(lines)
    recovered = Engine.restore(pickle.loads(latest[1])["engine"])
    for symbol, book in engine.books.items():
        other = recovered.books[symbol]
        assert other.depth() == book.depth(), symbol
        assert (other.seq, other.trade_seq, other.last_price, other.phase) == (
            book.seq, book.trade_seq, book.last_price, book.phase)
    assert recovered.ids.last == engine.ids.last
    assert len(list((journal / "snapshots").glob("snapshot-*.bin"))) <= 3
