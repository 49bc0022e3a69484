"""SQLAlchemy engines, one per process and kept warm across invocations, and Alembic migrations."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from mybroker.settings import settings

ALEMBIC_ENV = Path(__file__).parent / "alembic"
RETRYABLE = frozenset({1213, 1205})  # InnoDB deadlock, lock wait timeout: the transaction was rolled back
T = TypeVar("T")
# the database is unreachable, went away mid-call, or the pool is exhausted: an API answers 503, never 500
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def retryable(exc: BaseException) -> bool:
    """InnoDB rolled the transaction back as a deadlock victim or after a lock wait: running it again is right."""
    if not isinstance(exc, OperationalError) or exc.orig is None or not exc.orig.args:
        return False
    return exc.orig.args[0] in RETRYABLE


def retry_deadlocks(unit_of_work: Callable[[], T], attempts: int = 6) -> T:
    """Runs a whole transaction again when InnoDB chose it as a deadlock victim (or a lock wait timed out).
    Safe only for work that is one transaction and idempotent, which is how the services write."""
    for attempt in range(attempts):
        try:
            return unit_of_work()
        except OperationalError as exc:
            if not retryable(exc) or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


@cache
def engine(url: str | None = None) -> Engine:
    return create_engine(url or settings().database_url(), pool_pre_ping=True, pool_recycle=3600,
                         pool_size=2, max_overflow=4, isolation_level="READ COMMITTED")


def migrate(url: str, versions_dir: Path) -> None:
    """Bring one service's schema to the newest revision in ``versions_dir``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_ENV))
    cfg.set_main_option("version_locations", str(versions_dir))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = url
    command.upgrade(cfg, "head")
