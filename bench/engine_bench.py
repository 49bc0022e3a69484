"""Matching-engine benchmark: one command, prints figures.

    .venv/bin/python bench/engine_bench.py [--messages N] [--seed S] [--resting N] [--baseline DIR]

If the mypyc build exists (``python -m engine_service.core.build_native`` writes
build/engine_native), the same scenarios also run on the compiled core, side by side with pure
Python and the naive reference book, with the ratios. ``--baseline DIR`` adds an older tree (for
instance ``git worktree add /tmp/base HEAD~1``, built there too if wanted) to the same run, for
before/after figures measured under the same machine load. Throughput is given in wall-clock and
CPU time (the latter is steadier on a shared machine), per input (``process``) and per batch of
1,000 (``process_many``, outputs kept for the batch as a service does).

Seeded workload: new limit orders (about 95% later cancelled, 20% modified), 15% IOC, plus
market orders so that trades happen; prices stay inside the auction tunnel so that every order
is accepted (engine order ids are then predictable: the k-th new order gets id k). The same
messages go through the engine (every B3 rule, every report) and through the naive reference
book (no rules, no reports). Each scenario runs in its own subprocess so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATIVE = os.path.join(ROOT, "build", "engine_native")


def _core_root() -> str:
    """The tree whose ``engine_service`` is measured: this one, or ``--core-root DIR``."""
    if "--core-root" in sys.argv:
        return os.path.abspath(sys.argv[sys.argv.index("--core-root") + 1])
    return ROOT


sys.path.insert(0, _core_root())
if "--native" in sys.argv:
    sys.path.insert(0, os.path.join(_core_root(), "build", "engine_native"))

from engine_service.core import (  # noqa: E402
    CancelOrder,
    ClockTick,
    Engine,
    InstrumentConfig,
    NewOrder,
    ReplaceOrder,
)
from engine_service.core.reference_book import ReferenceBook  # noqa: E402

MID = 3000  # R$30.00
START_NS = 1_794_835_800_000_000_000  # Monday 2026-11-16 10:30 America/Sao_Paulo: continuous trading


def symbols(n: int) -> list[str]:
    return [f"SYM{i:02d}3" for i in range(n)]


def workload(n_messages: int, n_instruments: int, seed: int) -> Iterator[Any]:
    """Yields ``n_messages`` inputs (after one ClockTick)."""
    rng = random.Random(seed)
    syms = symbols(n_instruments)
    yield ClockTick(START_NS)
    scheduled: list[tuple[int, int, int, str, int, bool]] = []  # (due, tiebreak, id, sym, qty, is_buy)
    next_id = 0
    emitted = 0
    counter = 0
    while emitted < n_messages:
        if scheduled and scheduled[0][0] <= emitted:
            _, _, oid, sym, qty, is_buy = heapq.heappop(scheduled)
            if qty:  # a modification: price move or size change
                price = MID - rng.randint(1, 25) if is_buy else MID + rng.randint(1, 25)
                yield ReplaceOrder(sym, oid, f"m{oid}", qty, price)
            else:
                yield CancelOrder(sym, oid, f"x{oid}")
            emitted += 1
            continue
        sym = syms[rng.randrange(n_instruments)]
        is_buy = rng.random() < 0.5
        side = "BUY" if is_buy else "SELL"
        investor = f"inv{rng.randrange(1000)}"
        next_id += 1
        r = rng.random()
        qty = rng.randint(1, 10) * 100
        if r < 0.15:  # IOC crossing the spread
            price = MID + rng.randint(-5, 15) if is_buy else MID - rng.randint(-5, 15)
            yield NewOrder(sym, f"c{next_id}", investor, side, qty, price, tif="IOC", stp="NONE")
        elif r < 0.20:  # market order with a protection price inside the auction tunnel
            protection = MID + 60 if is_buy else MID - 60
            yield NewOrder(sym, f"c{next_id}", investor, side, qty, 0, order_type="MARKET",
                           protection_price=protection, stp="NONE")
        else:
            price = MID - rng.randint(1, 30) if is_buy else MID + rng.randint(1, 30)
            yield NewOrder(sym, f"c{next_id}", investor, side, qty, price, stp="NONE")
            counter += 1
            if rng.random() < 0.20:
                heapq.heappush(scheduled, (emitted + rng.randint(1, 100), counter, next_id, sym,
                                           rng.randint(1, 10) * 100, is_buy))
                counter += 1
            if rng.random() < 0.95:
                heapq.heappush(scheduled, (emitted + rng.randint(101, 400), counter, next_id, sym, 0, is_buy))
        emitted += 1


def make_engine(n_instruments: int) -> Engine:
    return Engine([InstrumentConfig(s, reference_price=MID) for s in symbols(n_instruments)])


def reference_processor(n_instruments: int) -> Any:
    books = {s: ReferenceBook() for s in symbols(n_instruments)}
    ids = [0]

    def process(msg: Any) -> Any:
        t = type(msg)
        if t is NewOrder:
            ids[0] += 1
            book = books[msg.instrument]
            price = msg.price or msg.protection_price
            fills = book.new(ids[0], msg.side == "BUY", price, msg.qty, msg.tif)
            return fills
        if t is CancelOrder:
            books[msg.instrument].cancel(msg.order_id)
            return ()
        if t is ReplaceOrder:
            return books[msg.instrument].replace(msg.order_id, msg.qty, msg.price)
        return ()

    return process


BATCH = 1000  # the engine service's prefetch


def percentile(sorted_values: list[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def run_scenario(kind: str, n_instruments: int, n_messages: int, seed: int) -> dict[str, Any]:
    msgs = list(workload(n_messages, n_instruments, seed))
    results: dict[str, Any] = {"messages": len(msgs) - 1}
    for mode in ("throughput", "batch", "latency") if kind == "engine" else ("throughput", "latency"):
        if kind == "engine":
            engine = make_engine(n_instruments)
            process = engine.process
            process_many = engine.process_many
        else:
            process = reference_processor(n_instruments)
        process(msgs[0])
        gc.collect()
        # The pre-built inputs are a benchmark artefact (a service holds a batch at a time): move them
        # out of the collector's generations so that its full passes do not rescan a million tuples.
        # Objects made by the engine from here on are collected as usual.
        gc.freeze()
        if mode == "throughput":
            outputs = 0
            t0 = time.perf_counter()
            c0 = time.process_time()
            for m in msgs[1:]:
                outputs += len(process(m))
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0
            results["msgs_per_s"] = round((len(msgs) - 1) / elapsed)
            results["cpu_msgs_per_s"] = round((len(msgs) - 1) / cpu)  # robust when the box is shared
            results["outputs"] = outputs
            if kind == "engine":
                results["trades"] = sum(book.trade_seq for book in engine.books.values())
        elif mode == "batch":  # process_many() on batches of BATCH inputs, as a service would
            body = msgs[1:]
            chunks = [body[i:i + BATCH] for i in range(0, len(body), BATCH)]
            outputs = 0
            c0 = time.process_time()
            for chunk in chunks:
                outputs += len(process_many(chunk))
            cpu = time.process_time() - c0
            results["batch_cpu_msgs_per_s"] = round(len(body) / cpu)
            assert outputs == results["outputs"], (outputs, results["outputs"])
        else:
            clock = time.perf_counter_ns
            samples: list[int] = []
            append = samples.append
            for m in msgs[1:]:
                t0 = clock()
                process(m)
                append(clock() - t0)
            samples.sort()
            results["p50_ns"] = percentile(samples, 0.50)
            results["p99_ns"] = percentile(samples, 0.99)
            results["p999_ns"] = percentile(samples, 0.999)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return results


def run_resting(n_orders: int) -> dict[str, Any]:
    """RSS with ``n_orders`` resting orders (1000 price levels a side, 1000 investors)."""
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine = make_engine(1)
    engine.process(ClockTick(START_NS))
    process = engine.process
    for i in range(n_orders):
        is_buy = i % 2 == 0
        price = MID - 1 - (i // 2) % 250 if is_buy else MID + 1 + (i // 2) % 250
        process(NewOrder("SYM003", f"c{i}", f"inv{i % 1000}", "BUY" if is_buy else "SELL", 100, price))
    resting = len(engine.books["SYM003"].orders)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "resting_orders": resting, "peak_rss_mb": round(peak / 1024), "baseline_rss_mb": round(base / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--resting", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)  # internal: run one scenario, print JSON
    parser.add_argument("--native", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--core-root", help="measure the engine_service of this tree (internal)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also measure an older tree (e.g. a `git worktree` of the previous commit, with "
                             "its own build/engine_native if built) in the same run, and print the ratios")
    parser.add_argument("--skip-resting", action="store_true", help="skip the resting-orders RSS runs")
    args = parser.parse_args()
    if args.scenario:
        kind, n = args.scenario.split(":")
        resting = kind == "resting"
        result = run_resting(int(n)) if resting else run_scenario(kind, int(n), args.messages, args.seed)
        import engine_service.core.book as book_module

        result["compiled"] = not book_module.__file__.endswith(".py")
        result["core"] = book_module.__file__
        print(json.dumps(result))
        return

    def sub(scenario: str, native: bool = False, root: str = ROOT) -> dict[str, Any]:
        cmd = [sys.executable, os.path.abspath(__file__), "--scenario", scenario,
               "--messages", str(args.messages), "--seed", str(args.seed), "--core-root", root]
        if native:
            cmd.append("--native")
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def line(label: str, r: dict[str, Any], extra: str = "") -> None:
        print(f"  {label:<25} {r['msgs_per_s']:>10,} msg/s (cpu {r['cpu_msgs_per_s']:>9,})  "
              f"p50 {r['p50_ns'] / 1000:5.1f} us  p99 {r['p99_ns'] / 1000:5.1f} us  "
              f"p99.9 {r['p999_ns'] / 1000:6.1f} us  peak RSS {r['peak_rss_mb']} MB  {extra}", flush=True)

    def compiled_available(root: str) -> bool:
        return os.path.isdir(os.path.join(root, "build", "engine_native"))

    trees = [("", ROOT)] + ([("baseline ", os.path.abspath(args.baseline))] if args.baseline else [])
    print(f"engine benchmark: {args.messages:,} messages, seed {args.seed}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
    print("throughput: wall clock (cpu time in brackets: steadier when other work shares the machine)")
    for n in (1, 50):
        print(f"\n{n} instrument(s):", flush=True)
        ref = sub(f"reference:{n}")
        runs: dict[str, dict[str, Any]] = {}
        for prefix, root in trees:
            for native in (False, True):
                if native and not compiled_available(root):
                    continue
                r = sub(f"engine:{n}", native=native, root=root)
                if native and not r["compiled"]:
                    continue
                label = f"{prefix}engine ({'mypyc' if native else 'python'})"
                runs[label] = r
                line(label, r, f"batch cpu {r['batch_cpu_msgs_per_s']:,} msg/s ({r['trades']:,} trades, "
                               f"{r['outputs']:,} outputs)")
        line("reference book", ref, "(no rules, no reports)")
        ratios = [f"{label} / reference {r['cpu_msgs_per_s'] / ref['cpu_msgs_per_s']:.2f}" for label, r in runs.items()]
        print(f"  ratios (cpu msg/s): {', '.join(ratios)}", flush=True)
        for kind in ("python", "mypyc"):
            new, old = runs.get(f"engine ({kind})"), runs.get(f"baseline engine ({kind})")
            if new and old:
                print(f"  {kind}: this tree / baseline {new['cpu_msgs_per_s'] / old['cpu_msgs_per_s']:.2f}x "
                      f"(p99 {old['p99_ns'] / 1000:.1f} -> {new['p99_ns'] / 1000:.1f} us)", flush=True)
        if "engine (python)" in runs and "engine (mypyc)" in runs:
            speedup = runs["engine (mypyc)"]["cpu_msgs_per_s"] / runs["engine (python)"]["cpu_msgs_per_s"]
            print(f"  mypyc / python: {speedup:.2f}x", flush=True)
    if args.skip_resting:
        return
    for native_run in (False, True) if compiled_available(ROOT) else (False,):
        resting = sub(f"resting:{args.resting}", native=native_run)
        print(f"\n{resting['resting_orders']:,} resting orders ({'mypyc' if native_run else 'python'}): "
              f"peak RSS {resting['peak_rss_mb']} MB "
              f"(interpreter and engine before orders: {resting['baseline_rss_mb']} MB)", flush=True)


if __name__ == "__main__":
    main()
