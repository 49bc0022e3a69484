"""The broker end to end on the local stack (issue 12): orders/s and latency from ``POST /orders`` to the
order's final state seen through ``GET /orders/{id}``, and the memory of every process of the system.

    .venv/bin/python bench/broker_bench.py [--duration 20] [--clients 1,20] [--post-only-clients 20]
                                           [--max-orders 20000] [--users 20] [--no-cleanup]

Needs the system (scripts/up). Moves the shared simulated clock into a trading session the way the
end-to-end tests do (tests/fixtures/session.py), signs users up (tests/fixtures/users.py), funds them, then runs
each phase for ``--duration`` seconds (or ``--max-orders``). Every client keeps one keep-alive connection
to the API, as an SDK would. The order mix against the engine's liquidity agents (PETR4):

* 40 % marketable: LIMIT IOC buy priced 3 % above the reference (crosses the agents' asks): final when
  terminal (FILLED, or CANCELED for what the book could not fill);
* 30 % resting: LIMIT DAY buy 5 % below the reference: final when NEW (acknowledged by the engine);
* 15 % out of the rejection tunnel (20 % above the reference) and 15 % off the tick (or off the lot when the
  tick is one cent): refused by ``POST /orders`` itself (422), which is their final state.

Phases: ``clients=N`` posts and then polls each order to its final state (the latency is POST -> the GET that
shows it); ``post-only`` posts without polling (capacity), then waits until no order of the run is
``PENDING_NEW`` any more and reports both the POST rate and the rate including that drain. Resting orders are
canceled at the end (``--no-cleanup`` keeps them). Loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key  # noqa: E402 (needs ROOT on sys.path)

os.environ.update(aws_key(RUNTIME_PRINCIPAL).environment())  # the install's key: the local moto refuses others
for _k, _v in {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(_k, _v)

HOST, PORT = "127.0.0.1", 3000
TERMINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}
RUN = ROOT / "var" / "run"


# --- the client ---------------------------------------------------------------------------------------------

class Api:
    """One keep-alive HTTP/1.1 connection with a user's token (reconnects if the server closed it)."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, ConnectionError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


@dataclass
class Mix:
    ref: int
    tick: int
    tunnel_pct: int
    lot: int

    def on_tick(self, price: int, up: bool) -> int:
        return (price + self.tick - 1) // self.tick * self.tick if up else price // self.tick * self.tick

    def order(self, n: int) -> tuple[str, dict[str, Any]]:
        """The n-th order of a client: its kind and body (deterministic, 40/30/15/15)."""
        k = n % 20
        base = {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": self.lot}
        if k < 8:
            return "marketable", {**base, "timeInForce": "IOC", "priceCents": self.on_tick(self.ref * 103 // 100, True)}
        if k < 14:
            return "resting", {**base, "timeInForce": "DAY", "priceCents": self.on_tick(self.ref * 95 // 100, False)}
        if k < 17:
            return "out_of_tunnel", {**base, "priceCents": self.on_tick(self.ref * (120 + self.tunnel_pct) // 100,
                                                                        True)}
        if self.tick > 1:
            return "bad_tick", {**base, "priceCents": self.on_tick(self.ref, False) + 1}
        return "bad_lot", {**base, "quantity": self.lot + self.lot // 2, "priceCents": self.ref}


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # POST -> final state visible (ms)
    post_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    gets: int = 0
    errors: int = 0
    next_n: int = 0  # the phase's order counter: the mix holds over all clients together
    order_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def is_final(kind: str, status: str) -> bool:
    return status in TERMINAL or (kind == "resting" and status != "PENDING_NEW")


def client_loop(api: Api, mix: Mix, stats: Stats, stop_at: float, budget: list[int], poll: bool) -> None:
    while time.monotonic() < stop_at:
        with stats.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            n = stats.next_n
            stats.next_n += 1
        kind, body = mix.order(n)
        t0 = time.perf_counter()
        try:
            status, answer = api.call("POST", "/orders", body)
        except Exception:
            with stats.lock:
                stats.errors += 1
            continue
        posted = (time.perf_counter() - t0) * 1000
        gets = 0
        outcome = f"{kind}:{status}"
        if status == 201 and poll:
            order_id = answer["orderId"]
            current = answer["status"]
            delay = 0.002
            deadline = time.monotonic() + 30
            while not is_final(kind, current) and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 1.5, 0.02)
                code, seen = api.call("GET", f"/orders/{order_id}")
                gets += 1
                if code == 200:
                    current = seen["status"]
            outcome = f"{kind}:{current}" if is_final(kind, current) else f"{kind}:TIMEOUT"
        elif status == 201:
            outcome = f"{kind}:posted"
        elif isinstance(answer, dict) and answer.get("code"):
            outcome = f"{kind}:{status} {answer['code']}"
        final_ms = (time.perf_counter() - t0) * 1000
        with stats.lock:
            stats.post_ms.append(posted)
            stats.latencies.append(final_ms)
            stats.outcomes[outcome] += 1
            stats.gets += gets
            if status == 201:
                stats.order_ids.append(answer["orderId"])


def run_phase(label: str, apis: list[Api], duration: float, max_orders: int, poll: bool) -> dict[str, Any]:
    trading_session()  # the shared clock may have been moved since (tests, demos): back into a session
    mix = market(apis[0])
    stats = Stats()
    budget = [max_orders]
    cpu0, self0 = cpu(), time.process_time()
    t0 = time.perf_counter()
    stop_at = time.monotonic() + duration
    with ThreadPoolExecutor(len(apis)) as pool:
        for f in [pool.submit(client_loop, a, mix, stats, stop_at, budget, poll) for a in apis]:
            f.result()
    wall = time.perf_counter() - t0
    done = len(stats.latencies)
    out: dict[str, Any] = {
        "phase": label, "clients": len(apis), "orders": done, "seconds": round(wall, 1),
        "orders_per_s": round(done / wall, 1),
        "p50_ms": round(statistics.median(stats.latencies), 1) if done else None,
        "p99_ms": round(pct(stats.latencies, 0.99), 1) if done else None,
        "post_p50_ms": round(statistics.median(stats.post_ms), 1) if done else None,
        "post_p99_ms": round(pct(stats.post_ms, 0.99), 1) if done else None,
        "gets_per_order": round(stats.gets / max(1, done), 2), "errors": stats.errors,
        "outcomes": dict(sorted(stats.outcomes.items())),
    }
    if not poll:
        out.update(drain(apis, stats.order_ids, t0))
    cpu1, self1 = cpu(), time.process_time()
    used = {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1}
    used["load driver (this process)"] = self1 - self0
    out["cpu_s"] = {k: round(v, 2) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v > 0.005}
    system_cpu = sum(v for k, v in used.items() if not k.startswith("load driver"))
    out["cpu_ms_per_order"] = round(system_cpu * 1000 / max(1, done), 1)
    print(f"{label:<14} clients={len(apis):<3} {out['orders']:>6} orders in {out['seconds']:>5}s "
          f"{out['orders_per_s']:>7.1f} orders/s   p50 {out['p50_ms']} ms   p99 {out['p99_ms']} ms   "
          f"(POST p50 {out['post_p50_ms']} / p99 {out['post_p99_ms']} ms, {out['gets_per_order']} GET/order)")
    if not poll:
        print(f"{'':<14} all {len(stats.order_ids)} accepted orders out of PENDING_NEW after {out['drain_s']}s: "
              f"{out['orders_per_s_incl_drain']} orders/s end to end")
    print(f"{'':<14} outcomes: {out['outcomes']}" + (f"  errors: {stats.errors}" if stats.errors else ""))
    top = ", ".join(f"{k} {v:.1f}s" for k, v in list(out["cpu_s"].items())[:8])
    print(f"{'':<14} system CPU {out['cpu_ms_per_order']} ms/order; by component: {top}")
    return out


def drain(apis: list[Api], order_ids: list[str], t0: float, timeout: float = 120) -> dict[str, Any]:
    """Waits until no order of the run is PENDING_NEW (each user's list, filtered by status)."""
    deadline = time.monotonic() + timeout
    pending = -1
    while time.monotonic() < deadline:
        pending = 0
        for a in apis:
            code, page = a.call("GET", "/orders?status=PENDING_NEW&limit=1")
            pending += int(page["total"]) if code == 200 else 1
        if pending == 0:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    return {"drain_s": round(wall, 1), "still_pending": pending,
            "orders_per_s_incl_drain": round(len(order_ids) / wall, 1)}


# --- setup ----------------------------------------------------------------------------------------------------

def trading_session() -> None:
    from tests.fixtures.session import SessionNotOpen, open_trading_session

    try:
        open_trading_session()
    except SessionNotOpen as exc:
        raise SystemExit(str(exc)) from None


def make_users(n: int) -> list[Any]:
    from tests.fixtures.users import new_user

    def one(_: int) -> Any:
        u = new_user("bench")
        status, body = Api(u.token).call("POST", "/wallet/deposits",
                                         {"amountCents": 90_000_000_000, "idempotencyKey": uuid.uuid4().hex})
        if status not in (200, 201):
            raise SystemExit(f"deposit failed: {status} {body}")
        return u

    with ThreadPoolExecutor(min(n, 4)) as pool:
        return list(pool.map(one, range(n)))


def market(api: Api) -> Mix:
    import redis
    from mybroker.market_data.cache import QuoteCache

    ref = QuoteCache(redis.Redis.from_url("redis://127.0.0.1:6379/0")).reference_price_cents("PETR4")
    status, asset = api.call("GET", "/assets/PETR4")
    if ref is None or status != 200:
        raise SystemExit(f"no PETR4 reference price or instrument ({status} {asset})")
    return Mix(ref=int(ref), tick=int(asset.get("tickSizeCents", 1)),
               tunnel_pct=int(asset.get("rejectionTunnelPct", 10)), lot=int(asset.get("roundLot", 100)))


def cancel_resting(apis: list[Api]) -> int:
    n = 0
    for a in apis:
        while True:
            code, page = a.call("GET", "/orders?status=NEW&ticker=PETR4&limit=200")
            if code != 200 or not page["items"]:
                break
            for o in page["items"]:
                a.call("DELETE", f"/orders/{o['orderId']}")
                n += 1
            if len(page["items"]) < 200:
                break
    return n


# --- memory -----------------------------------------------------------------------------------------------------

def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages (libraries, PostgreSQL's shared buffers) split between the
    processes that map them, so a sum over processes counts each page once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def _tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _cmd(pid: int) -> list[str]:
    try:
        return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


def _function_of(pid: int) -> str:
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
                return item.split(b"=", 1)[1].decode()
    except OSError:
        pass
    return "?"


def components() -> list[tuple[str, list[int]]]:
    """(component, pids) for every process of the local system, from /proc and var/run/*.pid."""
    kids = _children()
    rows: list[tuple[str, list[int]]] = []
    from infra.declarations import SYSTEM
    from local_runtime import services as svc

    labels = {"mariadb": "MariaDB", "redis": "Redis", "rabbitmq": "RabbitMQ", "kafka": "Kafka",
              "postgresql": "PostgreSQL (FerretDB's storage)", "ferretdb": "FerretDB",
              "aws": "moto (Cognito/SSM/Secrets)"}
    for component in svc.infrastructure(SYSTEM.databases):
        pid = component.pid()
        if pid is not None and Path(f"/proc/{pid}").exists():
            rows.append((labels.get(component.name, component.name), _tree(pid, kids)))
    for p in kids.get(1, []):  # RabbitMQ's epmd daemon
        cmd = _cmd(p)
        if cmd and cmd[0].endswith("/epmd"):
            rows.append(("RabbitMQ (epmd)", [p]))
    runtime_pid = int((RUN / "runtime.pid").read_text().split()[0])
    rows.append(("runtime (HTTP API, ESM, scheduler)", [runtime_pid]))
    per_fn: dict[str, list[list[int]]] = {}
    for child in kids.get(runtime_pid, []):
        cmd = _cmd(child)
        if any("engine_service" in a for a in cmd):
            rows.append(("engine", _tree(child, kids)))
        elif cmd and cmd[0].endswith("aws-lambda-rie"):
            tree = _tree(child, kids)
            fn = _function_of(child) if _function_of(child) != "?" else _function_of(tree[-1])
            per_fn.setdefault(fn, []).append(tree)
    for fn in sorted(per_fn):
        rows.append((f"λ {fn}: {len(per_fn[fn])} emulator(s) + runtime(s)", [p for t in per_fn[fn] for p in t]))
    return rows


def memory() -> list[tuple[str, int, int]]:
    """(component, RSS KiB, PSS KiB)."""
    return [(name, sum(_rss_kib(p) for p in pids), sum(_pss_kib(p) for p in pids)) for name, pids in components()]


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu() -> dict[str, float]:
    """CPU seconds (user + system) used so far per component (processes alive now)."""
    return {name.split(":")[0]: sum(_cpu_s(p) for p in pids) for name, pids in components()}


def print_memory(rows: list[tuple[str, int, int]]) -> tuple[int, int]:
    total, total_pss = sum(r for _, r, _ in rows), sum(p for _, _, p in rows)
    print(f"  {'':<58} {'RSS':>12} {'PSS':>12}")
    for name, kib, pss in rows:
        print(f"  {name:<58} {kib / 1024:>8.1f} MiB {pss / 1024:>8.1f} MiB")
    print(f"  {'total':<58} {total / 1024:>8.1f} MiB {total_pss / 1024:>8.1f} MiB "
          f"(RSS {total / 1024 / 1024:.2f} GiB, PSS {total_pss / 1024 / 1024:.2f} GiB)")
    return total, total_pss


# --- main -------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per phase (default 20)")
    ap.add_argument("--clients", default="1,20", help="concurrent clients of the polling phases (default 1,20)")
    ap.add_argument("--post-only-clients", type=int, default=20, help="clients of the POST-only phase; 0 skips it")
    ap.add_argument("--max-orders", type=int, default=20_000, help="cap per phase (default 20000)")
    ap.add_argument("--users", type=int, default=0, help="users to sign up (default: the most clients)")
    ap.add_argument("--warmup", type=int, default=40, help="orders placed before measuring (cold starts)")
    ap.add_argument("--no-cleanup", action="store_true", help="leave resting orders on the book")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",") if c.strip() and int(c) > 0]  # "0" or "": no such phase
    n_users = args.users or max([*clients, args.post_only_clients, 1])

    print(f"machine: {os.cpu_count()} cores; {datetime.now(UTC).isoformat(timespec='seconds')}")
    users = make_users(n_users)
    trading_session()
    mix = market(Api(users[0].token))
    print(f"PETR4 reference {mix.ref} cents, tick {mix.tick}, lot {mix.lot}, tunnel {mix.tunnel_pct} %; "
          f"{n_users} users signed up and funded")
    apis = [Api(u.token) for u in users]
    warm = max([*clients, args.post_only_clients])
    run_phase("warm-up", apis[:warm], 60, args.warmup, poll=True)
    results: list[dict[str, Any]] = []
    try:
        for c in clients:
            results.append(run_phase("post+poll", apis[:c], args.duration, args.max_orders, poll=True))
        if args.post_only_clients:
            results.append(run_phase("post-only", apis[:args.post_only_clients], args.duration,
                                     args.max_orders, poll=False))
        print("memory after the run (RSS sums count shared pages once per process; PSS splits them):")
        rows = memory()
        total, total_pss = print_memory(rows)
    finally:
        if not args.no_cleanup:
            print(f"canceled {cancel_resting(apis)} resting orders")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "rss_kib": {n: r for n, r, _ in rows},
                                         "pss_kib": {n: p for n, _, p in rows}, "rss_total_kib": total,
                                         "pss_total_kib": total_pss}, indent=2))


if __name__ == "__main__":
    main()
