"""A deadlock victim's transaction runs again; any other database error does not."""

from collections.abc import Callable

import pymysql
import pytest
from mybroker.db import retry_deadlocks
from sqlalchemy.exc import OperationalError


def failing(times: int, code: int) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("UPDATE ...", {}, pymysql.err.OperationalError(code, "simulated"))
        return "done"

    return calls, work


@pytest.mark.parametrize("code", [1213, 1205])
def test_deadlocks_and_lock_timeouts_are_retried(code: int) -> None:
    calls, work = failing(2, code)
    assert retry_deadlocks(work) == "done" and len(calls) == 3


def test_other_errors_and_exhausted_retries_are_raised() -> None:
    calls, work = failing(1, 2006)  # server gone away: not a retryable rollback
    with pytest.raises(OperationalError):
        retry_deadlocks(work)
    assert len(calls) == 1
    calls, work = failing(10, 1213)
    with pytest.raises(OperationalError):
        retry_deadlocks(work, attempts=3)
    assert len(calls) == 3
