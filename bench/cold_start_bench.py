"""Cold start of every declared function: the Lambda Runtime Interface Emulator's INIT report (``INIT
REPORT(durationMs: ...)``, what AWS bills as Init Duration), median of ``--runs`` fresh emulators each.

Beside it, in the same process and on the same machine: a bare handler (Python + ``awslambdaric`` + the
emulator: the floor no function can go under) and, with ``--baseline REV``, the same functions from another
commit checked out in a temporary git worktree, as a ratio (these machines are noisy). Each emulator gets a
payload no handler accepts (a JSON string), so nothing runs after INIT: no side effects on the system.

    .venv/bin/python bench/cold_start_bench.py [--runs 3] [--baseline HEAD~1] [--only orders-api,wallet-api]

Needs ``scripts/up`` (the emulator binary, the local state); the system need not be idle, but the figures are
better when it is.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "layers" / "common" / "python")]

from infra.declarations import SYSTEM, Function  # noqa: E402
from local_runtime import lambdas  # noqa: E402
from local_runtime.environment import function_environment  # noqa: E402
from local_runtime.paths import ROOT, STATE_FILE  # noqa: E402

INIT = re.compile(rb"INIT REPORT\(durationMs: ([0-9.]+)\)")
PROBE = "cold-start-probe"  # a JSON string: every handler refuses it before touching a store or a broker


class Environment(lambdas.ExecutionEnvironment):
    """An emulator whose log is its own file, so that its INIT report is not mixed with the runtime's."""

    def __init__(self, function: Function, environment: dict[str, str], log: Path) -> None:
        super().__init__(function, environment, index=0, runtime_id="cold-start-bench")
        self._own_log = log

    @property
    def log(self) -> Path:
        return self._own_log


def init_ms(fn: Function, env: dict[str, str], workdir: Path) -> float:
    log = workdir / f"{fn.name}.log"
    log.unlink(missing_ok=True)
    e = Environment(fn, env, log)
    try:
        e.invoke(json.dumps(PROBE).encode())
    finally:
        e.stop()
    found = INIT.findall(log.read_bytes())
    if not found:
        raise RuntimeError(f"{fn.name}: no INIT report in {log}")
    return float(found[-1])


@contextmanager
def code_from(root: Path) -> Iterator[None]:
    """Functions and the common layer from ``root`` (another commit's worktree) for the duration."""
    saved = {name: getattr(lambdas, name) for name in ("ROOT", "COMMON_LAYER")}
    setattr(lambdas, "ROOT", root)  # noqa: B010 (the module's own names, read by ExecutionEnvironment.start)
    setattr(lambdas, "COMMON_LAYER", root / "layers" / "common" / "python")  # noqa: B010
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(lambdas, name, value)


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cold-start-baseline-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                       capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False,
                           capture_output=True)


def bare_function(workdir: Path) -> Function:
    code = workdir / "bare"
    code.mkdir(exist_ok=True)
    (code / "bare.py").write_text("def handler(event, context):\n    return None\n")
    return Function(name="bare", code_dir=str(code), handler="bare.handler")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", help="a git revision to measure beside the working tree (a ratio)")
    ap.add_argument("--only", help="comma-separated function names")
    args = ap.parse_args()
    state = json.loads(STATE_FILE.read_text())
    functions = [f for f in SYSTEM.functions if not args.only or f.name in args.only.split(",")]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        workdir = Path(tmp)
        bare = bare_function(workdir)
        bare_ms = statistics.median(init_ms(bare, {}, workdir) for _ in range(args.runs))
        now = {f.name: statistics.median(init_ms(f, function_environment(f, state), workdir)
                                         for _ in range(args.runs)) for f in functions}
        before: dict[str, float] = {}
        if args.baseline:
            with worktree(args.baseline) as tree, code_from(tree):
                for f in functions:
                    if (tree / f.code_dir / (f.handler.split(".")[0] + ".py")).exists():
                        before[f.name] = statistics.median(
                            init_ms(f, function_environment(f, state), workdir) for _ in range(args.runs))
    print(f"INIT (RIE report), median of {args.runs}; bare handler {bare_ms:.0f} ms")
    head = f"{'function':<28} {'INIT ms':>8} {'over bare':>10}"
    if args.baseline:
        head += f" {args.baseline + ' ms':>14} {'ratio':>6}"
    print(head)
    for name, ms in now.items():
        line = f"{name:<28} {ms:>8.0f} {ms - bare_ms:>10.0f}"
        if args.baseline:
            b = before.get(name)
            line += f" {b:>14.0f} {ms / b:>6.2f}" if b else f" {'-':>14} {'-':>6}"
        print(line)
    worst = max(now.values())
    print(f"worst {worst:.0f} ms; target <= 400 ms every function: {'met' if worst <= 400 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
