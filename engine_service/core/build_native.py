"""Compile the engine core with mypyc, from the same source, into ``build/engine_native``.

    .venv/bin/python -m engine_service.core.build_native          # build (about 20-40 s)
    .venv/bin/python -m engine_service.core.build_native --check  # exit 1 if missing or stale

Needs ``mypy`` (gives mypyc; in the dev extras) and a C compiler. The pure-Python package stays
the default; a process opts in with ``PYTHONPATH=build/engine_native`` (the benchmark runs both).

The build is made in a temporary directory and swapped in only once it compiled and imports, so a
failed build never leaves a half-written tree; a failed build removes the previous (now stale)
one, so that nothing runs compiled code older than the source. ``SOURCE_SHA256`` in the build
records which source it was compiled from (``--check`` compares it with the tree).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMPILED = ("records.py", "book.py", "engine.py")
STAMP = "SOURCE_SHA256"


def _root() -> Path:
    return Path(__file__).resolve().parents[2]


def source_digest(root: Path | None = None) -> str:
    """SHA-256 of every ``engine_service/core/*.py`` (name and content) and the Python version."""
    root = root or _root()
    h = hashlib.sha256(sys.version.encode())
    for source in sorted((root / "engine_service" / "core").glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return h.hexdigest()


def is_fresh(root: Path | None = None) -> bool:
    """True when ``build/engine_native`` exists and was compiled from the current source."""
    root = root or _root()
    stamp = root / "build" / "engine_native" / STAMP
    return stamp.is_file() and stamp.read_text().strip() == source_digest(root)


def _check_tools() -> None:
    if importlib.util.find_spec("mypyc") is None:
        raise SystemExit("mypyc is missing: install mypy into this interpreter (.venv/bin/pip install mypy)")
    if not any(shutil.which(cc) for cc in (os.environ.get("CC", "cc"), "cc", "gcc", "clang")):
        raise SystemExit("no C compiler found (install gcc, or set CC)")


def build(root: Path | None = None, quiet: bool = False) -> Path:
    root = root or _root()
    _check_tools()
    target = root / "build" / "engine_native"
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = source_digest(root)
    work = Path(tempfile.mkdtemp(prefix="engine_native.", dir=target.parent))
    try:
        package = work / "engine_service" / "core"
        package.mkdir(parents=True)
        shutil.copy(root / "engine_service" / "__init__.py", work / "engine_service" / "__init__.py")
        for source in (root / "engine_service" / "core").glob("*.py"):
            shutil.copy(source, package / source.name)
        cmd = [sys.executable, "-m", "mypyc", *(f"engine_service/core/{name}" for name in COMPILED)]
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"mypyc failed (exit {done.returncode}); see the output above")
        if not quiet:
            sys.stdout.write(done.stdout[-2000:])
        # the compiled modules must import and be the ones picked up from the build
        probe = (
            "import sys; sys.path.insert(0, sys.argv[1]); import engine_service.core.book as b, "
            "engine_service.core.engine as e; assert not b.__file__.endswith('.py'), b.__file__; "
            "assert not e.__file__.endswith('.py'), e.__file__"
        )
        subprocess.run([sys.executable, "-c", probe, str(work)], check=True, cwd=work.parent)
        (work / STAMP).write_text(digest + "\n")
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)  # never leave a stale build behind a failed one
        raise
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the build is missing or stale")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.check:
        fresh = is_fresh()
        print("fresh" if fresh else "missing or stale")
        raise SystemExit(0 if fresh else 1)
    print(build(quiet=args.quiet))


if __name__ == "__main__":
    main()
