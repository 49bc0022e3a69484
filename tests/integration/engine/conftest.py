"""Fixtures of the engine service's integration tests: each test gets its own queue, dead-letter queue,
output exchange and journal directory, so the running system's engine is never disturbed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine_service.core import SessionCalendar
from engine_service.service import EngineService
from tests.integration.engine.engine_helpers import AMQP_URL, INSTRUMENTS, FixedClock, Reports, Topology


@pytest.fixture
def channel() -> Iterator[Any]:
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except Exception as exc:  # pragma: no cover - the stack is down
        pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL}: {exc}", pytrace=False)
    ch = conn.channel()
    ch.confirm_delivery()
    yield ch
    if conn.is_open:
        conn.close()


@pytest.fixture
def topology(channel: Any) -> Iterator[Topology]:
    t = Topology.create(channel)
    yield t
    t.delete(channel)


@pytest.fixture
def reports(topology: Topology) -> Iterator[Reports]:
    r = Reports(AMQP_URL, topology.output_exchange)
    yield r
    r.close()


class Running:
    def __init__(self, service: EngineService) -> None:
        self.service = service
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.service.run()
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> None:
        self.service.stopping = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the service did not stop"
        assert self.error is None, f"the service crashed: {self.error!r}"


@pytest.fixture
def start_service(tmp_path: Path, topology: Topology) -> Iterator[Callable[..., Running]]:
    """Starts an in-process EngineService on the test's queue (agents off, fixed clock, no reference refresh)."""
    running: list[Running] = []

    def start(clock: FixedClock | None = None, **kw: Any) -> Running:
        args: dict[str, Any] = {"output_exchange": topology.output_exchange, "instruments": INSTRUMENTS,
                                "calendar": SessionCalendar(), "clock": clock or FixedClock(),
                                "reference_refresh": False}
        args.update(kw)
        service = EngineService(tmp_path / "journal", AMQP_URL, topology.queue, kw.pop("kafka", None),
                                kw.pop("redis_url", None), **{k: v for k, v in args.items()
                                                              if k not in ("kafka", "redis_url")})
        r = Running(service)
        running.append(r)
        return r

    yield start
    for r in running:
        if r.thread.is_alive():
            r.stop()
