"""The orphan-hold sweeper's decision (functions/wallet/reservation_sweeper.py): release only what the orders
service answers 404 for; anything unclear waits for the next run; the time budget is respected."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from mybroker.orders.clients import ORDERS_API_TIMEOUT_S, ORDERS_READ_BACK_TIMEOUT_S
from mybroker.orders.domain import OrderError

from functions.wallet import reservation_sweeper as rs


@dataclass(frozen=True)
class Hold:
    account_id: str
    order_id: str


@dataclass
class Holds:
    candidates: list[Hold]
    asked: list[datetime] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)

    def orphan_candidates(self, older_than: datetime) -> list[Hold]:
        self.asked.append(older_than)
        return self.candidates

    def release(self, account_id: str, order_id: str) -> None:
        self.released.append((account_id, order_id))


@dataclass
class Orders:
    answers: dict[str, bool | Exception]
    asked: list[str] = field(default_factory=list)

    def exists(self, order_id: str) -> bool:
        self.asked.append(order_id)
        answer = self.answers[order_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


CUTOFF = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_releases_only_what_orders_certainly_does_not_have() -> None:
    holds = Holds([Hold("a1", "gone"), Hold("a1", "live"), Hold("a2", "unclear"), Hold("a2", "timeout")])
    orders = Orders({"gone": False, "live": True,
                     "unclear": OrderError("ORDERS_UNAVAILABLE", "503", status=503), "timeout": TimeoutError()})
    result = rs.sweep(holds, orders, CUTOFF)
    assert holds.asked == [CUTOFF]
    assert holds.released == [("a1", "gone")]
    assert (result.released, result.live, result.unclear, result.left) == (["gone"], 1, 2, 0)


def test_stops_before_a_read_back_that_would_not_fit_in_the_time_left() -> None:
    holds = Holds([Hold("a", "o1"), Hold("a", "o2"), Hold("a", "o3")])
    orders = Orders({"o1": False, "o2": False, "o3": False})
    budget = iter([60.0, ORDERS_READ_BACK_TIMEOUT_S + 4])  # room for one read-back only
    result = rs.sweep(holds, orders, CUTOFF, lambda: next(budget))
    assert orders.asked == ["o1"] and holds.released == [("a", "o1")] and result.left == 2


@pytest.mark.parametrize(("raw", "seconds"), [("", rs.DEFAULT_WINDOW_S), ("600", 600), ("abc", rs.DEFAULT_WINDOW_S),
                                              ("1", rs.MIN_WINDOW_S)])
def test_the_window_is_configurable_but_never_below_twice_the_orders_timeout(
        monkeypatch: pytest.MonkeyPatch, raw: str, seconds: int) -> None:
    monkeypatch.setenv("RESERVATION_SWEEP_WINDOW_S", raw)
    assert rs.window() == timedelta(seconds=seconds)
    assert rs.MIN_WINDOW_S == 2 * ORDERS_API_TIMEOUT_S
