"""The fault suite: under the bounded load of ``load.py``, ``kill -9`` each component in turn, bring it back the
way the system does (the runtime respawns a function's emulator on its next call and the engine by itself;
databases and brokers come back with ``python -m local_runtime up``), wait until a canary order makes the whole
round trip again, keep the load on for a while, drain, and check the ledger invariant (``checker.py``).

``python -m tests.faults`` (``scripts/faults``) prints one table and exits 1 on any money discrepancy, any 5xx after
recovery, or a component that did not recover. It changes the shared system: it takes the exclusive system lock
(``/tmp/mybroker-system.lock``) itself, and leaves every component up."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.lambdas import RUNTIME_ID_VARIABLE
from local_runtime.paths import BIN, PYTHON, ROOT, RUN
from tests.faults.checker import LIVE, Report, caught_up, check
from tests.faults.load import Load, call
from tests.fixtures.session import open_trading_session
from tests.fixtures.users import User, new_user

LOCK_FILE = Path("/tmp/mybroker-system.lock")
SWEEP_WINDOW = timedelta(seconds=300)  # wallet-reservation-sweeper's RESERVATION_SWEEP_WINDOW_S default
FUNCTION_KILLS = 3  # a function is killed this many times, 2 s apart, while the load runs through it


def use_local_aws() -> None:
    """boto3 (the fixtures' Cognito sign-up) against the local AWS API with the install's key, as tests/conftest.py
    sets it up for pytest."""
    from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key

    os.environ.setdefault("AWS_ENDPOINT_URL", f"http://127.0.0.1:{svc.AWS_PORT}")
    os.environ.update(aws_key(RUNTIME_PRINCIPAL).environment())
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# --- killing ------------------------------------------------------------------------------------------------

def emulator_groups(function: str) -> list[int]:
    """The process groups of the main runtime's emulators of ``function`` (each emulator leads its own group:
    the RIE and the Python runtime under it)."""
    rie = str(BIN / "aws-lambda-rie").encode()
    marks = {f"{RUNTIME_ID_VARIABLE}=main".encode(), f"AWS_LAMBDA_FUNCTION_NAME={function}".encode()}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if cmd and cmd[0] == rie and marks <= set((proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def component(name: str) -> svc.Component:
    return next(c for c in svc.infrastructure(SYSTEM.databases) if c.name == name)


def engine_pid() -> int | None:
    return svc.read_pid(RUN / "engine.pid")


def bring_up() -> None:
    """What an operator does after a crash: ``python -m local_runtime up`` (starts what is down, idempotent)."""
    out = subprocess.run([str(PYTHON), "-m", "local_runtime", "up"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"local_runtime up failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # none (the baseline), function (an emulator), engine (the runtime service), infra (db, broker)
    target: str

    def inject(self, log: Callable[[str], None]) -> int:
        """``kill -9``; returns how many processes were killed."""
        if self.kind == "none":
            return 0
        if self.kind == "function":
            kills = 0
            for i in range(FUNCTION_KILLS):
                if i:
                    time.sleep(2)
                for group in emulator_groups(self.target):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(group, signal.SIGKILL)
                        kills += 1
            log(f"killed {kills} emulator(s) of {self.target}")
            return kills
        pid = engine_pid() if self.kind == "engine" else component(self.target).pid()
        if pid is None:
            raise RuntimeError(f"{self.name} has no running process to kill")
        os.kill(pid, signal.SIGKILL)
        log(f"killed {self.name} (pid {pid})")
        return 1

    def restore(self) -> None:
        """Functions and the engine come back by themselves; a database or broker through ``up``."""
        if self.kind == "infra":
            deadline = time.monotonic() + 15
            while component(self.target).healthy() and time.monotonic() < deadline:
                time.sleep(0.2)  # let the death be seen before bringing it back
            bring_up()


FAULTS = (  # wallet-reservations early: the holds it may orphan are past the sweeper's window by the final check
    Fault("baseline", "none", ""),
    Fault("wallet-reservations", "function", "wallet-reservations"),
    Fault("orders-api", "function", "orders-api"),
    Fault("wallet-api", "function", "wallet-api"),
    Fault("orders-execution-reports", "function", "orders-execution-reports"),
    Fault("wallet-order-events", "function", "wallet-order-events"),
    Fault("engine", "engine", "engine"),
    Fault("rabbitmq", "infra", "rabbitmq"),
    Fault("kafka", "infra", "kafka"),
    Fault("mariadb", "infra", "mariadb"),
)


# --- recovery -----------------------------------------------------------------------------------------------

def all_up() -> bool:
    from local_runtime.__main__ import DEFAULT_PORT, runtime_healthy

    return (all(c.healthy() for c in svc.infrastructure(SYSTEM.databases)) and runtime_healthy(DEFAULT_PORT)
            and engine_pid() is not None)


def canary_round_trip(user: User, price: int, timeout_s: float) -> bool:
    """A resting buy placed, accepted by the engine, cancelled, and its hold back in the wallet: every component
    on the order path answered (orders-api, wallet-reservations, RabbitMQ, the engine, the execution reports,
    Kafka, wallet-order-events, MariaDB)."""
    deadline = time.monotonic() + timeout_s
    r = call(user, "POST", "/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                       "priceCents": price, "clientOrderId": uuid.uuid4().hex})
    if r.status != 201:
        return False
    oid = r.body["orderId"]
    cancelled = False
    while time.monotonic() < deadline:
        status = (call(user, "GET", f"/orders/{oid}").body or {}).get("status")
        if status == "NEW" and not cancelled:
            cancelled = call(user, "DELETE", f"/orders/{oid}").status == 202
        if status == "CANCELED":
            wallet = call(user, "GET", "/wallet")
            if wallet.status == 200 and wallet.body["reservedCents"] == 0:
                return True
        time.sleep(0.3)
    return False


def wait_recovered(canary: User, price: Callable[[], int], timeout_s: float) -> float | None:
    """Seconds until the system is healthy and a canary order makes the round trip; None if it never does."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while time.monotonic() < deadline:
        if all_up() and canary_round_trip(canary, price(), min(30.0, max(1.0, deadline - time.monotonic()))):
            return time.monotonic() - t0
        time.sleep(1)
    return None


# --- the run ------------------------------------------------------------------------------------------------

@dataclass
class Row:
    fault: str
    requests: int = 0
    during_5xx: int = 0
    after_5xx: int = 0
    no_answer: int = 0  # connections cut while the component was down (counted with the 5xx of its window)
    faults: int = 0
    recovered_s: float | None = None
    report: Report = field(default_factory=Report)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.recovered_s is not None and self.after_5xx == 0 and self.report.ok


@contextlib.contextmanager
def exclusive_lock(wait_s: float = 900) -> Iterator[None]:
    with LOCK_FILE.open("a") as f:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the system lock {LOCK_FILE} stayed taken for {wait_s:.0f}s") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Suite:
    def __init__(self, users: int = 4, rate: float = 8.0, before_s: float = 5.0, after_s: float = 10.0,
                 recover_s: float = 150.0, log: Callable[[str], None] | None = None) -> None:
        from mybroker.db import engine

        use_local_aws()
        self.log = log or (lambda m: print(f"[faults {datetime.now():%H:%M:%S}] {m}", file=sys.stderr, flush=True))
        self.before_s, self.after_s, self.recover_s = before_s, after_s, recover_s
        self.wallet_db, self.orders_db = engine(svc.mysql_url("wallet")), engine(svc.mysql_url("orders"))
        self.log(f"opening a trading session at {open_trading_session():%Y-%m-%d %H:%M} (simulated)")
        self.load = Load(users, rate)
        self.canary = new_user("faults-canary")
        self.load.deposit(self.canary, 10_000_000)
        self.rows: list[Row] = []
        self.t0 = time.monotonic()

    @property
    def accounts(self) -> list[str]:
        return [u.user_id for u in (*self.load.users, self.canary)]

    def transfers(self) -> dict[str, int]:
        return {**self.load.transfers(), self.canary.user_id: self.load.deposits[self.canary.user_id]}

    def run(self, fault: Fault) -> Row:
        row = Row(fault.name)
        self.log(f"{fault.name}: load on ({self.load.rate:g} req/s)")
        t_start = time.monotonic()
        self.load.start()
        time.sleep(self.before_s)
        t_kill = time.monotonic()
        try:
            row.faults = fault.inject(self.log)
            fault.restore()
        except Exception as exc:
            row.notes.append(f"restore: {exc}")
            self.log(f"{fault.name}: {exc}")
        recovered = wait_recovered(self.canary, self.load.market.floor, self.recover_s)
        t_recovered = time.monotonic()
        row.recovered_s = None if recovered is None else t_recovered - t_kill
        self.log(f"{fault.name}: recovered after {row.recovered_s}s" if row.recovered_s is not None
                 else f"{fault.name}: did NOT recover within {self.recover_s:.0f}s")
        time.sleep(self.after_s)
        self.load.stop()
        t_end = time.monotonic()
        sent = self.load.answers_between(t_start, t_end)
        # a request is in the fault's window if it was in flight at any moment between the kill and the recovery
        during = [a for a in sent if a.ended >= t_kill and a.started < t_recovered]
        outside = [a for a in sent if not (a.ended >= t_kill and a.started < t_recovered)]
        row.requests = len(sent)
        row.during_5xx = sum(1 for a in during if a.status >= 500 or a.status == 0)
        row.no_answer = sum(1 for a in during if a.status == 0)
        row.after_5xx = sum(1 for a in outside if a.status >= 500 or a.status == 0)
        if row.after_5xx:
            bad = sorted({f"{a.what}:{a.status} at {a.started - t_kill:+.1f}s {a.detail}" for a in outside
                          if a.status >= 500 or a.status == 0})
            row.notes.append(f"5xx outside the fault's window: {', '.join(bad)}")
        statuses = Counter(f"{a.what}:{a.status}" for a in sent)
        self.log(f"{fault.name}: answers {dict(sorted(statuses.items()))}")
        for a in during:
            if a.status >= 500 or a.status == 0:
                self.log(f"  during, at {a.started - t_kill:+.1f}s: {a.what} {a.status} {a.detail}")
        for note in row.notes:
            self.log(f"  {note}")
        row.report = self.drain_and_check()
        self.rows.append(row)
        self.log(f"{fault.name}: {row.requests} requests, 5xx {row.during_5xx} during / {row.after_5xx} after, "
                 f"cents off {row.report.cents_off}, shares off {row.report.shares_off}")
        for p in row.report.problems[:10]:
            self.log(f"  {p}")
        return row

    def drain_and_check(self, timeout_s: float = 90) -> Report:
        """Cancels every order of the run's users still live, waits until the wallet applied every order event
        and nothing is left live, then checks the invariant."""
        self.load.resolve_withdrawals()
        users = {u.user_id: u for u in (*self.load.users, self.canary)}
        deadline = time.monotonic() + timeout_s
        cancelled: dict[str, float] = {}  # when each cancel was last sent (a cancel may be refused: sent again)
        why = ""
        while time.monotonic() < deadline:
            live = self.live_orders()
            for oid, account in live:
                if time.monotonic() - cancelled.get(oid, -60.0) > 5:
                    call(users[account], "DELETE", f"/orders/{oid}")
                    cancelled[oid] = time.monotonic()
            done, why = caught_up(self.wallet_db, self.orders_db, self.accounts)
            if done and not live:
                break
            time.sleep(1)
        report = check(self.wallet_db, self.orders_db, self.accounts, self.transfers(), SWEEP_WINDOW)
        if why or report.live_orders:
            report.problems.append(f"not drained after {timeout_s:.0f}s: {why or ''} "
                                   f"{report.live_orders} orders still live")
        return report

    def final_check(self, budget_s: float = 570) -> Report:
        """Every account of the run, once more; while holds of orders never stored are younger than the sweeper's
        window, waits for the sweeper (within ``budget_s`` of the suite's start): each must be released by then."""
        while True:
            report = check(self.wallet_db, self.orders_db, self.accounts, self.transfers(), SWEEP_WINDOW)
            if not report.orphans_pending or time.monotonic() - self.t0 > budget_s:
                return report
            self.log(f"{report.orphans_pending} holds of orders never stored wait for the sweeper")
            time.sleep(10)

    def live_orders(self) -> list[tuple[str, str]]:
        from sqlalchemy import bindparam, text

        q = text("SELECT order_id, account_id FROM orders WHERE account_id IN :ids AND status IN :live").bindparams(
            bindparam("ids", expanding=True), bindparam("live", expanding=True))
        with self.orders_db.connect() as c:
            return [(o, a) for o, a in c.execute(q, {"ids": self.accounts, "live": list(LIVE)}).all()]


# --- the table ----------------------------------------------------------------------------------------------

HEADER = ("component killed", "requests", "5xx during", "5xx after", "faults", "recovery s", "cents off",
          "shares off", "orphans", "ok")


def table(rows: list[Row]) -> str:
    lines = [" | ".join(HEADER)]
    for r in rows:
        rec = "-" if r.recovered_s is None else f"{r.recovered_s:.1f}"
        orphans = f"{r.report.orphans} ({r.report.orphans_pending} pending)"
        lines.append(" | ".join((r.fault, str(r.requests), str(r.during_5xx), str(r.after_5xx), str(r.faults), rec,
                                 str(r.report.cents_off), str(r.report.shares_off), orphans,
                                 "yes" if r.ok else "NO")))
    total = Row("total", requests=sum(r.requests for r in rows), during_5xx=sum(r.during_5xx for r in rows),
                after_5xx=sum(r.after_5xx for r in rows), faults=sum(r.faults for r in rows))
    lines.append(" | ".join(("total", str(total.requests), str(total.during_5xx), str(total.after_5xx),
                             str(total.faults), "", "", "", "", "yes" if all(r.ok for r in rows) else "NO")))
    widths = [max(len(line.split(" | ")[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        cells = line.split(" | ")
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def run_suite(names: list[str] | None = None, **kw: Any) -> tuple[list[Row], Report]:
    """Every fault in turn (or those named), then one last check of every account of the run (holds made by an
    early fault are past the sweeper's window by then)."""
    faults = [f for f in FAULTS if not names or f.name in names]
    unknown = set(names or ()) - {f.name for f in faults}
    if unknown:
        raise ValueError(f"unknown faults: {sorted(unknown)}; known: {[f.name for f in FAULTS]}")
    suite = Suite(**kw)
    try:
        for fault in faults:
            suite.run(fault)
    finally:
        if not all_up():
            suite.log("a component is still down: bringing the system up")
            bring_up()
    return suite.rows, suite.final_check()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("faults", nargs="*", help=f"only these (default: all of {[f.name for f in FAULTS]})")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rate", type=float, default=8.0, help="requests per second (default 8)")
    parser.add_argument("--no-lock", action="store_true", help="the caller already holds the exclusive lock")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    lock = contextlib.nullcontext() if args.no_lock else exclusive_lock()
    with lock:
        rows, final = run_suite(args.faults, users=args.users, rate=args.rate)
    print(table(rows))
    print(f"final check of {final.accounts} accounts: cents off {final.cents_off}, shares off {final.shares_off}, "
          f"orphans {final.orphans} ({final.orphans_pending} younger than the sweeper's window); "
          f"{time.monotonic() - t0:.0f}s")
    for p in final.problems:
        print(f"  {p}")
    failed = [r for r in rows if not r.ok]
    for r in failed:
        print(f"FAILED {r.fault}: " + "; ".join([*r.notes, *r.report.problems[:10]]))
    return 1 if failed or not final.ok else 0
