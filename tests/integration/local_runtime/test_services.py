"""The project's own infrastructure scripts: idempotent, and clear about what is missing or dead."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.paths import LOGS, ROOT

pytestmark = pytest.mark.stack


def test_ensuring_every_component_twice_changes_nothing(local_state: dict[str, str]) -> None:
    components = svc.infrastructure(SYSTEM.databases)
    before = {c.name: c.pid() for c in components}
    for _ in range(2):
        for c in components:
            c.ensure()
            assert c.healthy(), c.name
    assert {c.name: c.pid() for c in components} == before  # nothing was restarted


def test_up_twice_in_a_row_is_harmless(local_state: dict[str, str]) -> None:
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "local_runtime", "up"], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "already running" in proc.stdout
    status = subprocess.run([sys.executable, "-m", "local_runtime", "status"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0, status.stdout


def test_status_names_a_missing_component_and_its_log() -> None:
    proc = subprocess.run([sys.executable, "-m", "local_runtime", "status", "--port", "9"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if x.startswith("runtime"))
    assert "DOWN" in line and str(LOGS / "runtime.log") in line


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_component_that_dies_while_starting_is_named_with_its_log(busy_port: int) -> None:
    class BrokenFerret(svc.FerretDB):
        name = "ferretdb-broken"
        port = busy_port  # already taken by a program that is not FerretDB: it cannot listen

    component = BrokenFerret()
    with pytest.raises(svc.ComponentError) as err:
        component.start()
    message = str(err.value)
    assert "ferretdb-broken" in message and str(component.log) in message


def test_a_port_held_by_another_program_is_reported(busy_port: int) -> None:
    class Squatted(svc.AwsApi):
        port = busy_port

    with pytest.raises(svc.ComponentError, match=f"port {busy_port} is taken"):
        Squatted().start()
