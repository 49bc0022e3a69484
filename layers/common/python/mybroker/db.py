"""SQLAlchemy engines, one per process and kept warm across invocations, and Alembic migrations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine

from mybroker.settings import settings

ALEMBIC_ENV = Path(__file__).parent / "alembic"


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
