"""Test-wide settings: the local AWS API for boto3, like the runtime gives its functions."""

from __future__ import annotations

import json
import os

import pytest

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key
from local_runtime.paths import STATE_FILE

os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
os.environ.update(aws_key(RUNTIME_PRINCIPAL).environment())  # the install's key: moto refuses any other
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def local_state() -> dict[str, str]:
    down = [c.status() for c in svc.infrastructure(SYSTEM.databases) if not c.healthy()]
    if down:
        pytest.fail("local services are down (run scripts/up): "
                    + "; ".join(f"{s.name} (log: {s.log})" for s in down), pytrace=False)
    state: dict[str, str] = json.loads(STATE_FILE.read_text())
    return state


@pytest.fixture(scope="session")
def trader_token(local_state: dict[str, str]) -> str:
    from local_runtime.aws_bootstrap import DEMO_TRADER, login

    return login(local_state, *DEMO_TRADER)["AccessToken"]


@pytest.fixture(scope="session")
def admin_token(local_state: dict[str, str]) -> str:
    from local_runtime.aws_bootstrap import DEMO_ADMIN, login

    return login(local_state, *DEMO_ADMIN)["AccessToken"]
