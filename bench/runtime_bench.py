"""The local runtime's own cost: an HTTP API request (JWT check, v2 event, emulator invoke, response
mapping) against a direct emulator invoke of the same function, in the same run.

    .venv/bin/python bench/runtime_bench.py [--requests 2000] [--clients 1,4]

Needs the local services (scripts/up). Prints requests/s, p50/p99 latency and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local_runtime.aws_bootstrap import DEMO_TRADER, login
from local_runtime.paths import STATE_FILE
from local_runtime.runtime import LocalRuntime
from tests.fixtures.harness import Probe, new_run_id, probe_system


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))]


def run(label: str, n: int, clients: int, one: object) -> dict[str, float]:
    per_client = n // clients

    def worker(_: int) -> list[float]:
        lat = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            one()  # type: ignore[operator]
            lat.append((time.perf_counter() - t0) * 1000)
        return lat

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lats = [x for chunk in pool.map(worker, range(clients)) for x in chunk]
    wall = time.perf_counter() - t0
    out = {"rps": len(lats) / wall, "p50_ms": statistics.median(lats), "p99_ms": pct(lats, 0.99)}
    print(f"{label:<44} clients={clients:<3} {out['rps']:>8.0f} req/s  p50 {out['p50_ms']:.2f} ms  "
          f"p99 {out['p99_ms']:.2f} ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", default="1,4")
    args = ap.parse_args()
    import os

    from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key

    for k, v in {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", **aws_key(RUNTIME_PRINCIPAL).environment(),
                 "AWS_REGION": "us-east-1"}.items():
        os.environ.setdefault(k, v)
    state = json.loads(STATE_FILE.read_text())
    token = login(state, *DEMO_TRADER)["AccessToken"]
    run_id = new_run_id()
    system = dataclasses.replace(probe_system(run_id), rabbitmq_sources=(), kafka_sources=(), schedules=())
    rt = LocalRuntime(system, state, port=0, run_services=False, runtime_id=f"bench-{run_id}")
    rt.start()
    fn = f"probe-http-{run_id}"
    event = {"rawPath": "/hello", "requestContext": {"requestId": "x"}}
    try:
        rt.lambdas.invoke(fn, event)  # cold starts out of the way
        print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
        for clients in (min(int(c), 2) for c in args.clients.split(",")):  # the probe's concurrency is 2
            for _ in range(clients):  # warm as many environments as clients
                rt.lambdas.pools[fn].invoke(event)
            base = run("direct emulator invoke (baseline)", args.requests, clients,
                       lambda: rt.lambdas.invoke(fn, event))

            def http_call() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", rt.port, timeout=30)
                conn.request("GET", "/hello", headers={"Authorization": f"Bearer {token}"})
                conn.getresponse().read()
                conn.close()

            api = run("HTTP API -> emulator (JWT, v2 event, mapping)", args.requests, clients, http_call)
            print(f"{'':<44} ratio HTTP/direct: {api['p50_ms'] / base['p50_ms']:.2f}x p50, "
                  f"{base['rps'] / api['rps']:.2f}x throughput")
    finally:
        rt.stop()
        Probe(run_id).cleanup()


if __name__ == "__main__":
    main()
