"""Session fixtures: each stack variant is synthesized once (cdk-nag runs on every synth, so a successful
synthesis is already the cdk-nag gate).

The dependencies layer: the tests never need ``layers/deps`` (built from PyPI by
``scripts/build_layers.py``); they hand the stack an empty placeholder folder instead, so they stay
hermetic and fast.  ``app.py`` itself refuses to synthesize without the real layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App
from synth_helpers import REPO_ROOT, STACK_NAME, SYSTEM, Synth, extended_system, synthesize_system

import app as cdk_app


@pytest.fixture(scope="session")
def deps_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deps-layer")
    (folder / "python").mkdir()
    (folder / "python" / "README").write_text("placeholder: tests do not ship dependencies\n")
    return folder


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, deps_layer: Path) -> Synth:
    """The real SYSTEM, through app.py's own build()."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir))
    cdk_app.build(app, deps_layer)
    app.synth()
    return Synth(SYSTEM, outdir, json.loads((outdir / f"{STACK_NAME}.template.json").read_text()))


@pytest.fixture(scope="session")
def extended(tmp_path_factory: pytest.TempPathFactory, deps_layer: Path) -> Synth:
    return synthesize_system(extended_system(), tmp_path_factory.mktemp("cdk.out.extended"), deps_layer)


@pytest.fixture(scope="session", params=["declared", "extended"])
def any_synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue("synth" if request.param == "declared" else "extended")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(REPO_ROOT)
