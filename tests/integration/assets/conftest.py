"""A throwaway MySQL schema per test, migrated like ``assets`` (functions/assets/migrations): the running
``assets-outbox-sweeper`` sweeps the real ``assets`` outbox every minute, and must not take these tests' rows.
The schema is created (and dropped) with the local MariaDB's root client, and granted to the ``assets`` user,
which the tests then connect as, like the functions do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from mybroker.db import migrate

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.paths import ROOT

USER = "'assets'@'127.0.0.1'"


@pytest.fixture
def assets_db(local_state: dict[str, str]) -> Iterator[sa.Engine]:
    name = f"assets_test_{uuid.uuid4().hex[:10]}"
    mariadb = svc.MariaDB(SYSTEM.databases)
    mariadb.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4; GRANT ALL PRIVILEGES ON `{name}`.* TO {USER};")
    db: sa.Engine | None = None
    try:
        url = svc.mysql_url("assets").replace("/assets?", f"/{name}?")
        migrate(url, ROOT / "functions" / "assets" / "migrations")
        db = sa.create_engine(url, isolation_level="READ COMMITTED")
        yield db
    finally:
        if db is not None:
            db.dispose()
        mariadb.sql(f"DROP DATABASE IF EXISTS `{name}`; REVOKE ALL PRIVILEGES ON `{name}`.* FROM {USER};")
