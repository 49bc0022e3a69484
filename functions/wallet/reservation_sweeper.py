"""wallet-reservation-sweeper (every minute): releases orphan holds, the reservations whose order never reached
the orders store (a crash or a timeout between the wallet's reserve and the order's commit, or a read-back
that failed too).

It takes the active reservations older than the window with no order event seen
(:meth:`mybroker.wallet.service.Wallet.orphan_candidates`), reads each order back through the orders service's
internal route (``GET /internal/orders/{orderId}``, SigV4-signed as this function) and releases only those
orders answers 404 ORDER_NOT_FOUND for. Anything unclear (a timeout, a 5xx, a 403) is left for the next run:
nothing is released on a guess.

The window (``RESERVATION_SWEEP_WINDOW_S``, default 300 s) is elapsed wall time, not the session clock, and is
never shorter than twice orders-api's timeout: a place still in flight has finished or been stopped by then.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.db import engine, retry_deadlocks
from mybroker.orders.clients import ORDERS_API_TIMEOUT_S, ORDERS_READ_BACK_TIMEOUT_S, OrdersReadBack
from mybroker.wallet.floor_metric import reported
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.service import Wallet

logger = Logger()
metrics = Metrics()
DEFAULT_WINDOW_S = 300
MIN_WINDOW_S = 2 * ORDERS_API_TIMEOUT_S


class Candidate(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def order_id(self) -> str: ...


class Holds(Protocol):
    def orphan_candidates(self, older_than: datetime) -> Any: ...
    def release(self, account_id: str, order_id: str) -> Any: ...


class Orders(Protocol):
    def exists(self, order_id: str) -> bool: ...


@dataclass
class SweepResult:
    released: list[str] = field(default_factory=list)
    live: int = 0  # the order is stored: not an orphan (its own events release the hold)
    unclear: int = 0  # no clear answer: left for the next run
    left: int = 0  # not reached before the time budget ran out

    def as_dict(self) -> dict[str, Any]:
        return {"released": len(self.released), "releasedOrderIds": self.released, "live": self.live,
                "unclear": self.unclear, "left": self.left}


def window() -> timedelta:
    raw = os.environ.get("RESERVATION_SWEEP_WINDOW_S", "")
    seconds = int(raw) if raw.strip().isdigit() else DEFAULT_WINDOW_S
    return timedelta(seconds=max(seconds, MIN_WINDOW_S))


def sweep(holds: Holds, orders: Orders, older_than: datetime, time_left_s: Callable[[], float] = lambda: float("inf"),
          ) -> SweepResult:
    """Release the candidates orders certainly does not have; each read-back must fit in the time left."""
    result = SweepResult()
    candidates: list[Candidate] = list(holds.orphan_candidates(older_than=older_than))
    for i, c in enumerate(candidates):
        if time_left_s() < ORDERS_READ_BACK_TIMEOUT_S + 5:
            result.left = len(candidates) - i
            break
        try:
            stored = orders.exists(c.order_id)
        except Exception:
            logger.warning("order read-back unclear: left for the next run", extra={"orderId": c.order_id},
                           exc_info=True)
            result.unclear += 1
            continue
        if stored:
            result.live += 1
            continue
        _release(holds, c)
        logger.warning("released an orphan hold", extra={"orderId": c.order_id, "accountId": c.account_id})
        result.released.append(c.order_id)
    return result


def _release(holds: Holds, c: Candidate) -> None:
    with reported():  # a release the floor refuses stops the sweep and alarms
        retry_deadlocks(lambda: holds.release(c.account_id, c.order_id))


@cache
def wallet() -> Wallet:
    return Wallet(MySqlStore(engine()))


@cache
def orders() -> OrdersReadBack:
    return OrdersReadBack(os.environ.get("API_URL", ""))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = sweep(wallet(), orders(), datetime.now(UTC) - window(),
                   lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="OrphanHoldsReleased", unit=MetricUnit.Count, value=len(result.released))
    metrics.add_metric(name="OrphanHoldsUnclear", unit=MetricUnit.Count, value=result.unclear)
    return result.as_dict()
