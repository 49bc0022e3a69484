"""The CLI as a new user runs it: a private $MYBROKER_HOME per test session, a fresh user per module."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mybroker_client import cli

pytestmark = pytest.mark.stack


@pytest.fixture(scope="session")
def mybroker_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("mybroker-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("MYBROKER_HOME", str(home))
    mp.delenv("MYBROKER_PROFILE", raising=False)
    yield home
    mp.undo()


class Runner:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli.main(list(argv))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *argv: str) -> Any:
        code, out, err = self("--json", *argv)
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], mybroker_home: Path) -> Runner:
    return Runner(capsys)


@pytest.fixture(scope="module")
def email() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}@e2e.mybroker.local"
