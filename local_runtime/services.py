"""Install, start, probe and stop the real local services, without Docker or systemd.

Each component is idempotent: ``install`` does nothing when the binary is there, ``start`` does nothing when
the service already answers, and ``stop`` does nothing when it is not running. Everything binds to
127.0.0.1 and keeps its data and log under ``var/``. Recipes: ``../shared/reference/local-services.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local_runtime.paths import (
    BIN,
    BUILD,
    LOGS,
    PYTHON,
    RUN,
    SERVICE_HOME,
    UNIX_SOCKET_MAX,
    VAR,
    clone_id,
    ensure_dirs,
    ensure_private_dir,
    shell_safe,
    short_dir,
    socket_path,
)

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
FERRETDB_VERSION = "v1.24.2"
RIE_MODULE = "github.com/aws/aws-lambda-runtime-interface-emulator"
RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d"
APT_PACKAGES = ("mariadb-server", "redis-server", "rabbitmq-server")



def _port(name: str, default: int) -> int:
    """A service's port; ``MYBROKER_<NAME>_PORT`` moves it (a second copy of the system, or a test's own server)."""
    return int(os.environ.get(f"MYBROKER_{name}_PORT", default))


MARIADB_PORT = _port("MARIADB", 3306)
REDIS_PORT = _port("REDIS", 6379)
RABBITMQ_PORT = _port("RABBITMQ", 5672)
RABBITMQ_MANAGEMENT_PORT = _port("RABBITMQ_MANAGEMENT", 15672)
RABBITMQ_DIST_PORT = _port("RABBITMQ_DIST", 25672)
RABBITMQ_NODENAME = os.environ.get("MYBROKER_RABBITMQ_NODENAME", "rabbit@localhost")  # unique per epmd
KAFKA_PORT = _port("KAFKA", 9092)
KAFKA_CONTROLLER_PORT = _port("KAFKA_CONTROLLER", 9093)
FERRETDB_PORT = _port("FERRETDB", 27017)
POSTGRES_PORT = _port("POSTGRES", 5432)  # FerretDB's backend
AWS_PORT = _port("AWS", 4566)


class ComponentError(RuntimeError):
    """A component could not be installed or started; the message names it and its log."""


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(probe: Callable[[], bool], timeout: float, what: str, log: Path,
               process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if process is not None and process.poll() is not None:
            raise ComponentError(f"{what} exited with code {process.returncode} while starting; see its log: {log}")
        time.sleep(0.1)
    raise ComponentError(f"{what} did not become ready within {timeout:.0f}s; see its log: {log}")


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, what: str,
        log: Path | None = None, timeout: float = 900) -> str:
    """Run a command to completion; on failure raise an error that names the component and its output."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        where = f"; log: {log}" if log else ""
        raise ComponentError(f"{what}: `{' '.join(cmd[:3])} ...` exited {proc.returncode}{where}\n" + "\n".join(tail))
    return proc.stdout


def spawn(cmd: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          pid_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a daemon in its own session with its output in its log, and remember its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
    if pid_file is not None:
        pid_file.write_text(str(proc.pid))
    return proc


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # a zombie or a recycled pid of another program is not ours
    try:
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return None
    except OSError:
        return None
    return pid


def kill_pid_file(pid_file: Path, timeout: float = 15) -> None:
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and read_pid(pid_file) is not None:
            time.sleep(0.1)
        if read_pid(pid_file) is None:
            break
    pid_file.unlink(missing_ok=True)


_apt_updated = False


def apt_install(packages: tuple[str, ...], what: str) -> None:
    global _apt_updated
    log = LOGS / "install.log"
    if shutil.which("apt-get") is None:
        raise ComponentError(f"{what}: apt-get is not available to install {', '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        run(as_root(["apt-get", "update", "-qq"]), env=env, what=what, log=log)
        _apt_updated = True
    run(as_root(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]), env=env, what=what,
        log=log)


def as_root(cmd: list[str]) -> list[str]:
    """Package management needs root: a non-root user runs it through ``sudo`` (non-interactive)."""
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo") is None:
        raise ComponentError(f"`{cmd[0]}` needs root, and sudo is not installed; run it as root once")
    return ["sudo", "-n", *cmd]


def quoted(value: object) -> str:
    """A value for my.cnf or redis.conf, double-quoted: paths may hold spaces (backslash starts an escape)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def properties_value(value: object) -> str:
    """A value for a Java .properties file (backslash starts an escape; spaces inside a value are kept)."""
    return str(value).replace("\\", "\\\\")


def login_name() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@dataclass
class Status:
    name: str
    healthy: bool
    port: int
    pid: int | None
    log: Path
    detail: str = ""


class Component:
    name: str = ""
    port: int = 0

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    def installed(self) -> bool:
        raise NotImplementedError

    def install(self) -> None:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        kill_pid_file(self.pid_file)

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def status(self) -> Status:
        return Status(self.name, self.healthy(), self.port, self.pid(), self.log)

    def ensure(self) -> None:
        """Install if missing, start if not answering, and fail with the log's name if it will not come up."""
        ensure_dirs()
        if not self.installed():
            self.install()
        if self.healthy():
            return
        self.start()
        if not self.healthy():
            raise ComponentError(f"{self.name} is not healthy after start; see its log: {self.log}")


class MariaDB(Component):
    name = "mariadb"
    port = MARIADB_PORT

    def __init__(self, databases: tuple[str, ...]) -> None:
        self.databases = databases
        self.home = VAR / "mariadb"
        self.cnf = self.home / "my.cnf"
        self.socket = socket_path("mariadb.sock")
        # as root it runs as root (so it reaches a clone in a 0700 folder); otherwise as the user running it
        self.user = login_name()

    def installed(self) -> bool:
        return shutil.which("mariadbd") is not None or Path("/usr/sbin/mariadbd").exists()

    def install(self) -> None:
        apt_install(APT_PACKAGES, self.name)

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "data").mkdir(exist_ok=True)
        self.cnf.write_text(
            "[mysqld]\n"
            f"datadir={quoted(self.home / 'data')}\nsocket={quoted(self.socket)}\npid-file={quoted(self.pid_file)}\n"
            f"bind-address=127.0.0.1\nport={self.port}\nuser={self.user}\nskip-name-resolve\n"
            "innodb_buffer_pool_size=128M\nperformance_schema=OFF\nmax_connections=500\n"
            "innodb_flush_log_at_trx_commit=1\ncharacter-set-server=utf8mb4\ncollation-server=utf8mb4_unicode_ci\n"
            f"log-error={quoted(self.log)}\n"
            "[client]\n"
            f"socket={quoted(self.socket)}\nuser={self.user}\n"
        )

    def healthy(self) -> bool:
        if not self.cnf.exists() or not port_open(self.port):
            return False
        proc = subprocess.run(["mariadb-admin", f"--defaults-file={self.cnf}", "ping"], capture_output=True)
        return proc.returncode == 0

    def start(self) -> None:
        if port_open(self.port) and not self.healthy():
            raise ComponentError(f"port {self.port} is taken by another program; mariadb cannot start")
        self._write_config()
        if not (self.home / "data" / "mysql").exists():
            self._install_db()
            if not (self.home / "data" / "mysql").is_dir():
                raise ComponentError(f"mariadb: mariadb-install-db created no system tables; see its log: {self.log}")
        if self.socket.parent != RUN:
            ensure_private_dir(self.socket.parent)
        # mariadbd writes its own pid file (the same path we read)
        proc = spawn(["mariadbd", f"--defaults-file={self.cnf}"], log=LOGS / "mariadb.stdout.log")
        wait_until(self.healthy, 60, self.name, self.log, process=proc)
        self.provision()

    def _install_db(self) -> None:
        """Create the system tables. mariadb-install-db is a shell script that splits unquoted paths (the data
        folder's, and every option it reads from an option file): give it no option file, and a symlink with a
        short, plain path to a data folder whose path has blanks or quotes."""
        datadir = self.home / "data"
        alias = datadir
        if not shell_safe(datadir):
            alias = ensure_private_dir(short_dir()) / "mariadb-data"
            alias.unlink(missing_ok=True)
            alias.symlink_to(datadir, target_is_directory=True)
        try:
            run(["mariadb-install-db", "--no-defaults", f"--datadir={alias}", "--skip-test-db", f"--user={self.user}"],
                what=self.name, log=self.log, cwd=self.home)
        finally:
            if alias != datadir:
                alias.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    alias.parent.rmdir()  # unless a socket lives there too

    def sql(self, statement: str) -> str:
        return run(["mariadb", f"--defaults-file={self.cnf}", "-N", "-e", statement], what=self.name,
                   log=self.log)

    def provision(self) -> None:
        """One database and one user per service, reachable over TCP and the socket."""
        stmts = []
        for db in self.databases:
            user, pw = db, local_password(db)
            stmts.append(f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;")
            for host in ("127.0.0.1", "localhost"):
                stmts.append(f"CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{pw}';")
                stmts.append(f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'{host}';")
        self.sql(" ".join(stmts))

    def stop(self) -> None:
        if self.healthy():
            subprocess.run(["mariadb-admin", f"--defaults-file={self.cnf}", "shutdown"], capture_output=True)
        kill_pid_file(self.pid_file)


def local_password(database: str) -> str:
    return f"local-{database}"


def mysql_url(database: str) -> str:
    return f"mysql+pymysql://{database}:{local_password(database)}@127.0.0.1:{MARIADB_PORT}/{database}?charset=utf8mb4"


class Redis(Component):
    name = "redis"
    port = REDIS_PORT

    def installed(self) -> bool:
        return shutil.which("redis-server") is not None

    def install(self) -> None:
        apt_install(APT_PACKAGES, self.name)

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        proc = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "ping"],
                              capture_output=True, text=True)
        return proc.stdout.strip() == "PONG"

    def start(self) -> None:
        home = VAR / "redis"
        home.mkdir(parents=True, exist_ok=True)
        cnf = home / "redis.conf"
        cnf.write_text(
            f"bind 127.0.0.1\nport {self.port}\npidfile {quoted(self.pid_file)}\nlogfile {quoted(self.log)}\n"
            f"dir {quoted(home)}\n"
            "daemonize yes\nappendonly yes\nappendfsync everysec\nprotected-mode yes\n"
        )
        run(["redis-server", str(cnf)], what=self.name, log=self.log)
        wait_until(self.healthy, 20, self.name, self.log)

    def stop(self) -> None:
        if self.healthy():
            subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "shutdown"], capture_output=True)
        kill_pid_file(self.pid_file)


class RabbitMQ(Component):
    name = "rabbitmq"
    port = RABBITMQ_PORT

    @property
    def log(self) -> Path:
        return LOGS / "rabbitmq" / f"{RABBITMQ_NODENAME}.log"

    def __init__(self) -> None:
        self.home = VAR / "rabbitmq"

    def env(self) -> dict[str, str]:
        h = self.home
        return {
            **os.environ,
            "HOME": str(h),
            "RABBITMQ_NODENAME": RABBITMQ_NODENAME,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(RABBITMQ_DIST_PORT),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(h / "mnesia"),
            "RABBITMQ_LOG_BASE": str(LOGS / "rabbitmq"),
            "RABBITMQ_CONFIG_FILE": str(h / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(h / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(h / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def installed(self) -> bool:
        return Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists()

    def install(self) -> None:
        apt_install(APT_PACKAGES, self.name)

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            with urllib.request.urlopen(self._mgmt_request("/api/overview"), timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _mgmt_request(self, path: str) -> urllib.request.Request:
        req = urllib.request.Request(f"http://127.0.0.1:{RABBITMQ_MANAGEMENT_PORT}{path}")
        req.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest, loopback only
        return req

    def start(self) -> None:
        h = self.home
        h.mkdir(parents=True, exist_ok=True)
        (LOGS / "rabbitmq").mkdir(parents=True, exist_ok=True)
        (h / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {RABBITMQ_MANAGEMENT_PORT}\n"
            "log.file.level = info\n"
        )
        (h / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (h / "rabbitmq-env.conf").write_text("")
        cookie = h / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text("MYBROKERLOCALCOOKIE")
            cookie.chmod(0o400)
        proc = spawn(["/usr/lib/rabbitmq/bin/rabbitmq-server"], log=LOGS / "rabbitmq.stdout.log",
                     env=self.env())
        # the management API answers only once the broker has booted (rabbitmqctl await_startup fails
        # at once while the node has not yet registered with epmd)
        wait_until(self.healthy, 120, self.name, self.log, process=proc)

    def stop(self) -> None:
        if read_pid(self.pid_file) is not None:
            subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "stop", str(self.pid_file)], env=self.env(),
                           capture_output=True, timeout=60)
        kill_pid_file(self.pid_file)
        # epmd is shared by every Erlang node of the machine: leave it to the others that still use it
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True, env=self.env()).stdout
        if "at port" not in names:
            subprocess.run(["epmd", "-kill"], capture_output=True, env=self.env())


KAFKA_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mybroker.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

KAFKA_LOG4J = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache
logger.apache.level = warn
"""


class Kafka(Component):
    name = "kafka"
    port = KAFKA_PORT
    cluster_id = "bXlicm9rZXItbG9jYWwwMQ"  # fixed, so a re-format of existing data never conflicts

    def __init__(self) -> None:
        self.home = VAR / "kafka"
        self.libs = self.home / "libs"

    def installed(self) -> bool:
        return any(self.libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")) and shutil.which("java") is not None

    def install(self) -> None:
        if shutil.which("java") is None:
            raise ComponentError("kafka: java is not installed (the machine image provides Java 17)")
        if shutil.which("mvn") is None:
            apt_install(("maven",), self.name)
        self.home.mkdir(parents=True, exist_ok=True)
        pom = self.home / "pom.xml"
        pom.write_text(KAFKA_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
        run(["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={self.libs}"], what=self.name, log=LOGS / "install.log")
        # copy-dependencies skips the project's own (empty) artifact; kafka_2.13 itself is a dependency
        if not self.installed():
            raise ComponentError(f"kafka: jars missing after maven fetch; see {LOGS / 'install.log'}")

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            from kafka import KafkaAdminClient

            admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{self.port}", request_timeout_ms=3000)
            try:
                admin.list_topics()
            finally:
                admin.close()
            return True
        except Exception:
            return False

    def _java(self) -> str:
        return shutil.which("java") or "java"

    def start(self) -> None:
        data = self.home / "data"
        props = self.home / "server.properties"
        props.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{KAFKA_CONTROLLER_PORT}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"log.dirs={properties_value(data)}\nnum.partitions=3\n"
            "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\nshare.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\ndefault.replication.factor=1\nmin.insync.replicas=1\n"
            "group.initial.rebalance.delay.ms=0\nauto.create.topics.enable=false\n"
            "offsets.topic.num.partitions=10\n"
        )
        l4j = self.home / "log4j2.properties"
        l4j.write_text(KAFKA_LOG4J.format(log=properties_value(self.log)))
        cp = f"{self.libs}/*"
        jvm = [self._java(), "-Xms128m", "-Xmx256m", "-XX:+UseSerialGC", f"-Dlog4j2.configurationFile={l4j}",
               "-Djava.awt.headless=true", "-cp", cp]
        if not (data / "meta.properties").exists():
            run([*jvm, "kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(props)],
                what=self.name, log=self.log, timeout=120)
        proc = spawn([*jvm, "kafka.Kafka", str(props)], log=LOGS / "kafka.stdout.log", pid_file=self.pid_file)
        wait_until(self.healthy, 90, self.name, self.log, process=proc)


class PostgreSQL(Component):
    """FerretDB's storage: its PostgreSQL backend updates a document by ``_id`` 5-7x faster than its SQLite
    backend (whose every update cost grows with the collection) and runs range queries ~10x faster.

    initdb and postgres refuse to run as root, so as root they run as ``postgres``, who must reach the data
    folder: ``var/postgresql`` when it can, otherwise (a clone in root's 0700 home or in a ``mktemp -d``
    folder) ``SERVICE_HOME/<clone id>/postgresql``, owned by postgres, with ``var/postgresql`` a symlink to it
    (and ``var/logs/postgresql.log`` one to its log) so everything else finds it under ``var/``."""

    name = "postgresql"
    port = POSTGRES_PORT
    user = "postgres"  # the superuser's name, and the system user the server runs as when we are root

    def __init__(self) -> None:
        self.link = VAR / "postgresql"

    @property
    def home(self) -> Path:
        return self.link.resolve()  # the real folder, for commands that run as postgres

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def pid_file(self) -> Path:
        return self.home / "postgresql.pid"  # written by the server, as its user

    @property
    def server_log(self) -> Path:
        return self.log.resolve()

    @staticmethod
    def bin_dir() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
        return found[-1].parent if found else None

    def installed(self) -> bool:
        return self.bin_dir() is not None

    def install(self) -> None:
        apt_install(("postgresql",), self.name)
        # Debian's package creates and may start a "main" cluster on our port: this system runs its own
        if shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster"):
            listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout
            for line in listed.splitlines():
                version, cluster, *_rest = line.split()
                subprocess.run(as_root(["pg_ctlcluster", version, cluster, "stop"]), capture_output=True)

    @staticmethod
    def _switching_user() -> bool:
        return os.geteuid() == 0

    def _as_user(self, cmd: list[str]) -> list[str]:
        return cmd if not self._switching_user() else ["runuser", "-u", self.user, "--", *cmd]

    def _user_reaches(self, folder: Path) -> bool:
        probe = self._as_user(["test", "-w", str(folder), "-a", "-x", str(folder)])
        return subprocess.run(probe, capture_output=True, cwd="/").returncode == 0

    def _prepare_home(self) -> Path:
        """The data folder's parent, where the server's user can write; returns the real path."""
        if not self._switching_user():
            self.link.mkdir(parents=True, exist_ok=True)
            return self.home
        if self.link.is_symlink():
            outside = self.home
        else:
            self.link.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.link, self.user)
            if self._user_reaches(self.link):
                self._own_log(self.log)
                return self.link
            outside = SERVICE_HOME / clone_id() / "postgresql"
            if outside.exists() and any(self.link.iterdir()):
                raise ComponentError(f"postgresql: both {self.link} and {outside} hold data; keep one")
            outside.parent.mkdir(parents=True, exist_ok=True)
            outside.parent.chmod(0o755)  # traversable by postgres; the data folder below is 0700
            (outside.parent / "clone").write_text(f"{VAR}\n")  # whose data this is, for whoever cleans up
            if any(self.link.iterdir()):  # the clone moved somewhere postgres cannot reach: its data follows
                shutil.move(self.link, outside)
            else:
                self.link.rmdir()
            self.link.symlink_to(outside, target_is_directory=True)
        outside.mkdir(parents=True, exist_ok=True)
        shutil.chown(outside, self.user)
        outside.chmod(0o700)
        log = outside / "postgresql.log"
        self._own_log(log)
        if self.log.resolve() != log:
            self.log.unlink(missing_ok=True)
            self.log.symlink_to(log)
        return outside

    def _own_log(self, log: Path) -> None:
        log.touch()
        shutil.chown(log, self.user)

    def healthy(self) -> bool:
        tools = self.bin_dir()
        if tools is None or not port_open(self.port):
            return False
        proc = subprocess.run([str(tools / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                              capture_output=True)
        return proc.returncode == 0

    def start(self) -> None:
        tools = self.bin_dir()
        assert tools is not None
        if port_open(self.port) and not self.healthy():
            raise ComponentError(f"port {self.port} is taken by another program; postgresql cannot start")
        home = self._prepare_home()
        if not (self.data / "PG_VERSION").exists():
            run(self._as_user([str(tools / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
                               "-E", "UTF8", "--no-instructions"]), what=self.name, log=self.log, cwd=home)
        # loopback only, trust auth; synchronous_commit=off: a crash of the server may lose the last few
        # hundred milliseconds of market data (never corrupt it); money lives in MariaDB, fully durable.
        # Nothing here connects through the unix socket: none when its path would be too long.
        sockets = str(home) if len(os.fsencode(home)) + 20 <= UNIX_SOCKET_MAX else ""
        settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={sockets}",
                    "synchronous_commit=off", "shared_buffers=32MB", "max_connections=100",
                    f"external_pid_file={self.pid_file}"]
        # pg_ctl hands -o to a shell: quote each word, paths may hold spaces
        options = " ".join(["-p", str(self.port), *(f"-c {shlex.quote(s)}" for s in settings)])
        run(self._as_user([str(tools / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.server_log),
                           "-w", "-t", "60", "start"]), what=self.name, log=self.log, cwd=home)
        wait_until(self.healthy, 60, self.name, self.log)
        exists = self.psql("SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")
        if exists.strip() != "1":
            run(self._as_user([str(tools / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                               "ferretdb"]), what=self.name, log=self.log, cwd=home)

    def psql(self, statement: str, database: str = "postgres") -> str:
        tools = self.bin_dir()
        assert tools is not None
        return run([str(tools / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database,
                    "-tAc", statement], what=self.name, log=self.log)

    def stop(self) -> None:
        tools = self.bin_dir()
        if tools is not None and (self.data / "postmaster.pid").exists():
            subprocess.run(self._as_user([str(tools / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=60, cwd=self.home)
        kill_pid_file(self.pid_file)


class FerretDB(Component):
    name = "ferretdb"
    port = FERRETDB_PORT

    @property
    def binary(self) -> Path:
        return BIN / "ferretdb"

    def installed(self) -> bool:
        return self.binary.exists()

    def install(self) -> None:
        if shutil.which("go") is None:
            raise ComponentError("ferretdb: the Go toolchain is needed to build it (the machine image has Go)")
        log = LOGS / "install.log"
        env = {**os.environ, "GOFLAGS": "-mod=mod"}
        out = run(["go", "mod", "download", "-json", f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}"],
                  env=env, cwd=BUILD, what=self.name, log=log)
        module_dir = Path(json.loads(out)["Dir"])
        src = BUILD / "ferretdb-src"
        if src.exists():
            shutil.rmtree(src)
        shutil.copytree(module_dir, src)
        for p in [src, *src.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
        # the module zip lacks build/version/version.txt; without it the binary panics at start-up
        (src / "build" / "version").mkdir(parents=True, exist_ok=True)
        (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION)
        run(["go", "build", "-o", str(self.binary), "./cmd/ferretdb"], env=env, cwd=src, what=self.name, log=log)

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            from pymongo import MongoClient

            client: MongoClient[dict[str, object]] = MongoClient(
                f"mongodb://127.0.0.1:{self.port}/", serverSelectionTimeoutMS=1500)
            try:
                client.admin.command("ping")
            finally:
                client.close()
            return True
        except Exception:
            return False

    def start(self) -> None:
        data = VAR / "ferretdb"
        data.mkdir(parents=True, exist_ok=True)
        backend = f"postgres://{PostgreSQL.user}@127.0.0.1:{POSTGRES_PORT}/ferretdb"
        proc = spawn([str(self.binary), "--handler=postgresql", f"--postgresql-url={backend}",
               f"--listen-addr=127.0.0.1:{self.port}", f"--state-dir={data}", "--telemetry=disable",
               "--debug-addr=-", "--log-level=warn"], log=self.log, pid_file=self.pid_file)
        wait_until(self.healthy, 30, self.name, self.log, process=proc)


class AwsApi(Component):
    """A moto server on LocalStack's port; a LocalStack already listening there is used instead."""

    name = "aws"
    port = AWS_PORT

    def installed(self) -> bool:
        return (PYTHON.parent / "moto_server").exists()

    def install(self) -> None:
        raise ComponentError("aws: moto_server is missing from the virtualenv; run scripts/up to install it")

    def is_localstack(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_localstack/health", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def healthy(self) -> bool:
        if not port_open(self.port):
            return False
        from local_runtime.moto_server import healthy  # moto behind its signature gate: a signed probe

        return healthy(self.port) or self.is_localstack()

    def start(self) -> None:
        if port_open(self.port):
            raise ComponentError(f"port {self.port} is taken by a program that is neither moto nor LocalStack")
        proc = spawn([str(PYTHON), "-m", "local_runtime.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                     log=self.log, pid_file=self.pid_file, cwd=Path(__file__).resolve().parent.parent)
        wait_until(self.healthy, 30, self.name, self.log, process=proc)

    def stop(self) -> None:
        # never stop a LocalStack we did not start
        kill_pid_file(self.pid_file)


class LambdaEmulator(Component):
    """AWS's Lambda Runtime Interface Emulator, built from its Go module; runs nothing by itself."""

    name = "lambda-rie"
    port = 0

    @property
    def binary(self) -> Path:
        return BIN / "aws-lambda-rie"

    def installed(self) -> bool:
        return self.binary.exists()

    def install(self) -> None:
        if shutil.which("go") is None:
            raise ComponentError("lambda-rie: the Go toolchain is needed to build it (the machine image has Go)")
        env = {**os.environ, "GOBIN": str(BIN)}
        run(["go", "install", f"{RIE_MODULE}/cmd/aws-lambda-rie@{RIE_VERSION}"], env=env, cwd=BUILD,
            what=self.name, log=LOGS / "install.log")

    def healthy(self) -> bool:
        return self.installed()

    def start(self) -> None:
        return None

    def status(self) -> Status:
        return Status(self.name, self.installed(), 0, None, LOGS / "install.log",
                      "built" if self.installed() else "not built")


def infrastructure(databases: tuple[str, ...]) -> list[Component]:
    """Every service the system needs, in start order."""
    return [MariaDB(databases), Redis(), RabbitMQ(), Kafka(), PostgreSQL(), FerretDB(), AwsApi(), LambdaEmulator()]
