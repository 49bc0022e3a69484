"""Schema migrations and demo data for the local system (on AWS a deploy step runs the same migrations)."""

from __future__ import annotations

from infra.declarations import System
from local_runtime import services as svc
from local_runtime.paths import ROOT


def migrate_and_seed(system: System) -> None:
    from mybroker.db import engine, migrate

    for database in system.databases:
        versions = ROOT / "functions" / database / "migrations"
        if versions.is_dir():
            migrate(svc.mysql_url(database), versions)
    from mybroker.assets.repository import MySqlCatalog
    from mybroker.assets.seed import SEED

    catalog = MySqlCatalog(engine(svc.mysql_url("assets")))
    for instrument in SEED:
        if catalog.get(instrument.ticker) is None:
            catalog.upsert(instrument)
