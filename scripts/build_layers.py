#!/usr/bin/env python3
"""Build the Lambda dependencies layer ``layers/deps/python`` (arm64 wheels for the Lambda runtime).

The requirements are the runtime dependencies of ``pyproject.toml`` minus what Lambda already has
(boto3/botocore) and what only the CDK app, the tests or the local runtime use.  pip fetches manylinux
aarch64 wheels for ``infra.compute.LAMBDA_PYTHON`` without Docker.  Idempotent: a stamp file records the
hash of the requirement list and the runtime, and an up-to-date layer is left alone (``--force`` rebuilds).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = REPO_ROOT / "layers" / "deps"
STAMP = LAYER_DIR / ".requirements.sha256"
LAMBDA_PYTHON = "python3.12"  # keep equal to infra.compute.LAMBDA_PYTHON (checked below when importable)

# Not shipped: in the Lambda runtime already, or used only by the CDK app, tests, tooling, local runtime.
EXCLUDED = {
    "boto3",
    "botocore",
    "aws-cdk-lib",
    "constructs",
    "moto",
    "localstack-client",
    "pytest",
    "awslambdaric",
    "cdk-nag",
    "cfn-lint",
    "mypy",
    "ruff",
    "hypothesis",
    "pytest-timeout",
}


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
    if match is None:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    return match.group(0).lower().replace("_", "-")


def layer_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    kept = [r for r in project["dependencies"] if requirement_name(r) not in EXCLUDED]
    if not any(requirement_name(r) == "pydantic" for r in kept):
        kept.append("pydantic>=2")  # without a pin pip may silently pick pydantic 1 for these platforms
    return kept


def fingerprint(requirements: list[str]) -> str:
    return hashlib.sha256("\n".join([LAMBDA_PYTHON, *requirements]).encode()).hexdigest()


def build(force: bool = False) -> bool:
    """Build the layer; return False when it was already up to date."""
    requirements = layer_requirements()
    digest = fingerprint(requirements)
    target = LAYER_DIR / "python"
    if not force and STAMP.is_file() and STAMP.read_text().strip() == digest and target.is_dir():
        print(f"{target} is up to date")
        return False
    if LAYER_DIR.exists():
        shutil.rmtree(LAYER_DIR)
    target.mkdir(parents=True)
    version = LAMBDA_PYTHON.removeprefix("python")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--platform",
        "manylinux2014_aarch64",
        "--platform",
        "manylinux_2_28_aarch64",
        "--target",
        str(target),
        *requirements,
    ]
    print(" ".join(command))
    subprocess.run(command, check=True)
    for leftover in ("boto3", "botocore"):  # pulled in transitively: the runtime has its own
        for path in target.glob(f"{leftover}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    STAMP.write_text(digest + "\n")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 1e6
    print(f"built {target}: {size:.1f} MB unzipped (limit 250 MB with the function and other layers)")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--list", action="store_true", help="print the layer's requirements and exit")
    args = parser.parse_args(argv)
    try:
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        sys.path.insert(0, str(REPO_ROOT))
        from infra.compute import LAMBDA_PYTHON as STACK_PYTHON

        if STACK_PYTHON != LAMBDA_PYTHON:
            print(f"build_layers targets {LAMBDA_PYTHON} but the stack uses {STACK_PYTHON}", file=sys.stderr)
            return 2
    except ImportError:  # CDK not installed: building the layer does not need it
        pass
    if args.list:
        print("\n".join(layer_requirements()))
        return 0
    build(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
