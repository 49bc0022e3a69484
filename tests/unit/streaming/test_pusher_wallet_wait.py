"""The pusher waits for the wallet once per batch, never once per account: found in review, where a batch of
fifteen subscribed accounts whose events the wallet had not applied yet (its consumer lagging) waited 15 x 2 s,
past the pusher's 30 s timeout, and the mapping retried the whole batch forever."""

from __future__ import annotations

from typing import Any

import pytest
from mybroker.wallet.memory import MemoryStore

from functions.streaming import pusher
from tests.unit.streaming.test_streaming_domain import order_event


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_one_wait_for_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    store, clock = MemoryStore(), Clock()
    monkeypatch.setattr(pusher, "wallet_store", lambda: store)
    monkeypatch.setattr(pusher, "time", clock)
    causes = {f"acc-{i}": order_event(f"acc-{i}", i) for i in range(15)}
    with store.transaction() as tx:  # the wallet has applied two of them
        for acc in ("acc-3", "acc-7"):
            tx.record_event(causes[acc].event_id, acc, causes[acc].order_id, "order.filled", "APPLIED")
    changes = pusher.wallet_changes(causes)
    assert clock.now <= pusher.WALLET_WAIT_S + 0.05  # fifteen accounts, one wait
    assert set(changes) == set(causes)
    assert {a for a, c in changes.items() if c.applied} == {"acc-3", "acc-7"}
    assert all(c.wallet["accountId"] == a for a, c in changes.items())


def test_no_wait_once_every_event_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    store, clock = MemoryStore(), Clock()
    monkeypatch.setattr(pusher, "wallet_store", lambda: store)
    monkeypatch.setattr(pusher, "time", clock)
    cause: Any = order_event("acc-1")
    with store.transaction() as tx:
        tx.record_event(cause.event_id, "acc-1", cause.order_id, "order.filled", "APPLIED")
    assert pusher.wallet_changes({"acc-1": cause})["acc-1"].applied and clock.now == 0
