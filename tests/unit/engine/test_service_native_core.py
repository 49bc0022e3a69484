"""The mypyc build of the core (build/engine_native, made by ``python -m engine_service.core.build_native``)
gives byte-identical outputs to the pure-Python core on the benchmark's seeded workload. Skipped when the
build does not exist. (A stale build, compiled from older source, fails here: rebuild it.)"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NATIVE = ROOT / "build" / "engine_native"

SCRIPT = """
import hashlib, pickle, sys
sys.path[:0] = {paths!r}
import engine_service.core.book as book
from engine_service.core import encode_outputs
sys.path.insert(0, {bench!r})
import engine_bench as b
assert not book.__file__.endswith(".py") or {pure}, book.__file__
h = hashlib.sha256()
for n in (1, 50):
    engine = b.make_engine(n)
    for m in b.workload({messages}, n, 7):
        h.update(encode_outputs(engine.process(m)))
    h.update(repr(pickle.loads(engine.snapshot())).encode())  # the state, not the pickle framing
print(h.hexdigest())
"""


def digest(pure: bool, messages: int = 20_000) -> str:
    paths = [str(ROOT), str(ROOT / "layers" / "common" / "python")]
    if not pure:
        paths.insert(0, str(NATIVE))
    code = SCRIPT.format(paths=paths, bench=str(ROOT / "bench"), pure=pure, messages=messages)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not any(NATIVE.glob("*.so")), reason="no mypyc build (python -m engine_service.core.build_native)")
def test_compiled_core_gives_identical_outputs() -> None:
    assert digest(pure=False) == digest(pure=True)
    assert len(hashlib.sha256().hexdigest()) == 64
