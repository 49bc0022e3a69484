"""A fresh clone works from any folder: PostgreSQL and MariaDB initialise, start, answer and stop from a clone in
a 0700 folder (as ``mktemp -d`` makes, or root's home) whose path has spaces and is too long for a unix socket.

Each test copies ``local_runtime/`` into such a folder and drives it in a subprocess from there, so ``ROOT`` and
``var/`` are the odd paths; the servers get their own free ports and data, and everything is removed afterwards.
It needs the binaries ``scripts/up`` installs, not the running system.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime import services as svc
from local_runtime.paths import ROOT

DRIVER = """
import json, sys
from local_runtime import paths, services as svc
paths.ensure_dirs()
component = svc.PostgreSQL() if sys.argv[1] == "postgresql" else svc.MariaDB(("fresh_clone",))
action = sys.argv[2]
if action == "start":
    component.start()
elif action == "stop":
    component.stop()
elif action == "sql":
    print(component.psql(sys.argv[3]) if isinstance(component, svc.PostgreSQL) else component.sql(sys.argv[3]))
elif action == "where":
    print(json.dumps({"module": svc.__file__, "var": str(paths.VAR), "short": str(paths.short_dir()),
                      "socket": str(getattr(component, "socket", "")), "pid": component.pid()}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clone:
    def __init__(self, path: Path, component: str) -> None:
        self.path = path
        self.component = component
        self.port = free_port()
        self.env = {**os.environ, "MYBROKER_POSTGRES_PORT": str(self.port), "MYBROKER_MARIADB_PORT": str(self.port)}
        self.env.pop("MYBROKER_VAR", None)

    @property
    def var(self) -> Path:
        return self.path / "var"

    def drive(self, action: str, *args: str, check: bool = True) -> str:
        proc = subprocess.run([sys.executable, "-c", DRIVER, self.component, action, *args], cwd=self.path,
                              env=self.env, capture_output=True, text=True, timeout=240)
        if check:
            assert proc.returncode == 0, f"{action} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    def where(self) -> dict[str, str]:
        found: dict[str, str] = json.loads(self.drive("where"))
        return found


def make_clone(component: str) -> Iterator[Clone]:
    if component == "postgresql" and svc.PostgreSQL.bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/up installs it)")
    if component == "mariadb" and shutil.which("mariadb-install-db") is None:
        pytest.skip("MariaDB is not installed (scripts/up installs it)")
    base = Path(tempfile.mkdtemp(prefix="fresh clone "))  # mode 0700, like mktemp -d and /root
    assert base.stat().st_mode & 0o777 == 0o700
    path = base / "my clone" / "a folder name long enough to push var run sockets past the limit"
    shutil.copytree(ROOT / "local_runtime", path / "local_runtime", ignore=shutil.ignore_patterns("__pycache__"))
    clone = Clone(path, component)
    short = Path(clone.where()["short"])
    try:
        yield clone
    finally:
        clone.drive("stop", check=False)
        link = clone.var / "postgresql"
        if link.is_symlink():  # data kept outside the clone for the postgres user
            shutil.rmtree(link.resolve().parent, ignore_errors=True)
        shutil.rmtree(short, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_clone() -> Iterator[Clone]:
    yield from make_clone("postgresql")


@pytest.fixture
def mariadb_clone() -> Iterator[Clone]:
    yield from make_clone("mariadb")


def test_postgresql_initialises_starts_and_stops_from_a_private_folder_with_spaces(pg_clone: Clone) -> None:
    where = pg_clone.where()
    assert Path(where["module"]).is_relative_to(pg_clone.path)  # the clone's own code, not this checkout's
    assert not svc.port_open(pg_clone.port)

    pg_clone.drive("start")
    try:
        out = pg_clone.drive("sql", "CREATE TABLE fills (qty int); INSERT INTO fills VALUES (100), (250); "
                                    "SELECT sum(qty) FROM fills")
        assert out.split()[-1] == "350"
        assert pg_clone.drive("sql", "SELECT datname FROM pg_database WHERE datname = 'ferretdb'").strip() == "ferretdb"
        data_dir = Path(pg_clone.drive("sql", "SHOW data_directory").strip())
        link = pg_clone.var / "postgresql"
        assert (link / "data").resolve() == data_dir.resolve()  # found through var/ whatever the user can reach
        if os.geteuid() == 0:  # postgres cannot enter a 0700 folder of root's: its data lives where it can
            assert link.is_symlink() and not data_dir.is_relative_to(pg_clone.path)
            assert data_dir.stat().st_uid == pwd.getpwnam(svc.PostgreSQL.user).pw_uid
        log = (pg_clone.var / "logs" / "postgresql.log").read_text()
        assert "database system is ready to accept connections" in log
    finally:
        pg_clone.drive("stop")
    assert not svc.port_open(pg_clone.port)
    assert pg_clone.where()["pid"] is None


def test_mariadb_initialises_starts_and_stops_from_a_private_folder_with_spaces(mariadb_clone: Clone) -> None:
    import pymysql

    where = mariadb_clone.where()
    assert Path(where["module"]).is_relative_to(mariadb_clone.path)
    sock = Path(where["socket"])
    assert len(os.fsencode(sock)) < 100 and not sock.is_relative_to(mariadb_clone.path)  # var/run is too deep

    mariadb_clone.drive("start")
    try:
        datadir = mariadb_clone.drive("sql", "SELECT @@datadir").strip()
        assert Path(datadir) == mariadb_clone.var / "mariadb" / "data"
        # the provisioned application user, over TCP on the clone's own port
        conn = pymysql.connect(host="127.0.0.1", port=mariadb_clone.port, user="fresh_clone",
                               password=svc.local_password("fresh_clone"), database="fresh_clone")
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE fills (qty INT)")
                cur.execute("INSERT INTO fills VALUES (100), (250)")
                cur.execute("SELECT SUM(qty) FROM fills")
                row = cur.fetchone()
        finally:
            conn.close()
        assert row is not None and int(row[0]) == 350
    finally:
        mariadb_clone.drive("stop")
    assert not svc.port_open(mariadb_clone.port)
    assert mariadb_clone.where()["pid"] is None
