"""Integration tests run against the real local services that scripts/test (scripts/up) started."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.paths import STATE_FILE


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


@pytest.fixture
def rabbit_channel() -> Iterator[object]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"))
    ch = conn.channel()
    ch.confirm_delivery()
    yield ch
    conn.close()
