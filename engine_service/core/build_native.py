"""Compile the engine core with mypyc, from the same source, into ``build/engine_native``.

    .venv/bin/pip install mypy        # gives mypyc (already in the dev extras); gcc must be present
    .venv/bin/python -m engine_service.core.build_native

The pure-Python package stays the default; a process opts in with
``PYTHONPATH=build/engine_native`` (the benchmark: ``bench/engine_bench.py --native``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

COMPILED = ("records.py", "book.py", "engine.py")


def build(root: Path | None = None) -> Path:
    root = root or Path(__file__).resolve().parents[2]
    target = root / "build" / "engine_native"
    shutil.rmtree(target, ignore_errors=True)
    package = target / "engine_service" / "core"
    package.mkdir(parents=True)
    shutil.copy(root / "engine_service" / "__init__.py", target / "engine_service" / "__init__.py")
    for source in (root / "engine_service" / "core").glob("*.py"):
        shutil.copy(source, package / source.name)
    cmd = [sys.executable, "-m", "mypyc", *(f"engine_service/core/{name}" for name in COMPILED)]
    subprocess.run(cmd, cwd=target, check=True)
    return target


if __name__ == "__main__":
    print(build())
