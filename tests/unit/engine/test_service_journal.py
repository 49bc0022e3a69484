"""The engine service's journal and snapshots (engine_service/journal.py) and recovery from them."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from engine_helpers import ns

from engine_service.core import ClockTick, Engine, InstrumentConfig, NewOrder, encode_input, encode_outputs
from engine_service.core.codec import decode_input
from engine_service.journal import Journal, Snapshots


def inputs(n: int) -> list[ClockTick | NewOrder]:
    msgs: list[ClockTick | NewOrder] = [ClockTick(ns(10, 30))]
    for i in range(n):
        side = "BUY" if i % 2 else "SELL"
        msgs.append(NewOrder("PETR4", f"c{i}", f"i{i % 7}", side, 100 * (1 + i % 3), 1000 + (i % 5) - 2))
    return msgs


def write(journal: Journal, msgs: list[ClockTick | NewOrder]) -> None:
    for i, m in enumerate(msgs):
        journal.append(f"cmd-{i}", encode_input(m))
    journal.sync()


def test_lines_are_durable_after_sync_and_numbered(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    assert j.append("a", encode_input(ClockTick(5))) == 0
    assert j.append("", encode_input(ClockTick(6))) == 1
    assert not j.path.read_bytes()  # buffered until sync
    j.sync()
    j.close()
    replayed = list(Journal(tmp_path).replay(0))
    assert replayed == [(0, "a", ["ClockTick", 5]), (1, "", ["ClockTick", 6])]
    assert Journal(tmp_path).next_line == 2


def test_a_torn_last_line_is_truncated_on_open(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    write(j, inputs(3))
    j.close()
    whole = j.path.read_bytes()
    for torn in (b'[4,"cmd-4",["ClockTick",1', b'[4,"cmd-4",["ClockTick",1]]', b"garbage\n"):
        j.path.write_bytes(whole + torn)
        reopened = Journal(tmp_path)
        assert reopened.next_line == 4
        assert j.path.read_bytes() == whole
        reopened.append("next", encode_input(ClockTick(9)))
        reopened.close()
        assert [n for n, _, _ in Journal(tmp_path).replay(0)] == [0, 1, 2, 3, 4]
        j.path.write_bytes(whole)


def test_replay_after_a_snapshot_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    msgs = inputs(300)
    engine = Engine([InstrumentConfig("PETR4", reference_price=1000)])
    expected = [engine.process(m) for m in msgs]
    j = Journal(tmp_path)
    snaps = Snapshots(tmp_path / "snapshots")
    live = Engine([InstrumentConfig("PETR4", reference_price=1000)])
    for i, m in enumerate(msgs):
        j.append(f"cmd-{i}", encode_input(m))
        live.process(m)
        if i == 149:
            j.sync()
            snaps.save(j.next_line, pickle.dumps({"engine": live.snapshot()}))
    j.close()
    # restart: newest snapshot, then the journal lines after it
    latest = snaps.latest()
    assert latest is not None and latest[0] == 150
    restored = Engine.restore(pickle.loads(latest[1])["engine"])
    replayed = [restored.process(decode_input(json.dumps(e))) for _, _, e in Journal(tmp_path).replay(latest[0])]
    assert encode_outputs([o for out in replayed for o in out]) == encode_outputs(
        [o for out in expected[150:] for o in out])
    assert restored.book("PETR4").depth() == engine.book("PETR4").depth()


def test_snapshots_rotate_and_the_newest_wins(tmp_path: Path) -> None:
    snaps = Snapshots(tmp_path, keep=3)
    for line in (10, 20, 30, 40, 50):
        snaps.save(line, str(line).encode())
    files = sorted(p.name for p in tmp_path.glob("snapshot-*.bin"))
    assert files == [f"snapshot-{n:012d}.bin" for n in (30, 40, 50)]
    assert snaps.latest() == (50, b"50")
    assert not list(tmp_path.glob("*.tmp"))
    assert Snapshots(tmp_path / "empty").latest() is None


def test_a_new_journal_starts_with_a_snapshot_of_what_it_was_made_with(tmp_path: Path) -> None:
    # found in review: before the first periodic snapshot (20,000 lines), a restart rebuilt the engine from the
    # seed and calendar of the day it restarted, so a code change or a new year's holidays could replay the
    # same journal into other reports under exec ids the broker already holds
    from datetime import date

    from engine_service.core import SessionCalendar
    from engine_service.service import EngineService

    def service(symbol: str, holidays: tuple[date, ...]) -> EngineService:
        return EngineService(tmp_path / "journal", "amqp://unused", "q", None, None,
                             instruments=[InstrumentConfig(symbol, reference_price=1000)],
                             calendar=SessionCalendar(holidays))

    first = service("PETR4", ())
    latest = first.snapshots.latest()
    assert latest is not None and latest[0] == 0
    first.journal.append("cmd-0", encode_input(inputs(1)[0]))
    first.journal.close()
    later = service("VALE3", (date(2026, 11, 16),))  # today's seed and calendar differ
    assert [c.symbol for c in later.engine.instruments] == ["PETR4"]
    assert not later.engine.calendar.holidays
    later.journal.close()
