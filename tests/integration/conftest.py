"""Integration tests run against the real local services that scripts/test (scripts/up) started."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_runtime import services as svc


@pytest.fixture
def rabbit_channel() -> Iterator[object]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"))
    ch = conn.channel()
    ch.confirm_delivery()
    yield ch
    conn.close()
