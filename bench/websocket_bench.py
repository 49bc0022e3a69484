"""The WebSocket streaming API on the running local system: latency from the engine's trade (the trade
event's engine timestamp, ``ts_ns``, on the simulated clock) to the frame at a subscribed client, at 1 and
100 connected clients, and the frames per second the local WebSocket API delivers.

    .venv/bin/python bench/websocket_bench.py [--clients 1,100] [--seconds 20] [--ticker PETR4] [--flood 20000]

Needs the running system in a trading session (``tests/fixtures/session.py`` opens one); a fresh funded
user makes the trades (100 shares at market, bought then sold, every 0.5 s, against the liquidity agents).
Each latency sample is one trade at one client: client receive time - (``ts_ns`` - the clock's offset). The
engine's clock advances in one-second ticks, so ``ts_ns`` is the last tick before the match (0-1 s early);
the ``pub`` columns measure from the trade record's Kafka create time (when the engine published it, wall
clock) instead. The flood part posts through ``@connections`` (signed as the pusher) from 8 threads to every
client and counts what arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common" / "python"))

import websockets

WS_URL = "ws://127.0.0.1:3001/live"


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def clock_offset_ns() -> int:
    import redis

    raw = redis.Redis.from_url("redis://127.0.0.1:6379/0").get("mybroker:clock:offset_ns")
    return int(raw or 0)


def published_at(ticker: str, stop: threading.Event, out: dict[int, float]) -> None:
    """When the engine published each trade of ``ticker`` (its Kafka record's create time, wall clock, ms)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer("trades", bootstrap_servers="127.0.0.1:9092", auto_offset_reset="latest",
                             fetch_max_wait_ms=5, metrics_enabled=False)
    consumer.poll(1000)
    while not stop.is_set():
        for records in consumer.poll(100).values():
            for r in records:
                data = json.loads(r.value)
                if data.get("instrument") == ticker:
                    out[int(data["seq"])] = float(r.timestamp)
    consumer.close()


async def client(token: str, channels: list[str], stop: asyncio.Event, offset: int, lat: list[float],
                 counts: dict[str, int], ready: asyncio.Event, need: list[int],
                 received: list[tuple[int, float]]) -> None:
    async with websockets.connect(f"{WS_URL}?token={token}", max_size=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": channels, "id": "b"}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("id") == "b":
                break
        need[0] -= 1
        if need[0] == 0:
            ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time_ns()
            frame = json.loads(raw)
            counts["frames"] = counts.get("frames", 0) + 1
            for event in frame.get("events", []):
                if event["channel"].startswith("trades:") and ready.is_set():
                    lat.append((now - (int(event["data"]["ts_ns"]) - offset)) / 1e6)
                    received.append((int(event["data"]["seq"]), now / 1e6))


def flood(connection_ids: list[str], total: int) -> float:
    import boto3
    from botocore.config import Config

    from local_runtime.credentials import aws_key

    key = aws_key("streaming-pusher")
    local = threading.local()

    def api() -> Any:
        if not hasattr(local, "c"):
            local.c = boto3.session.Session().client(
                "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:3002/live", region_name="us-east-1",
                aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                config=Config(retries={"max_attempts": 1}, max_pool_connections=4))
        return local.c

    payload = json.dumps({"type": "events", "events": [{"channel": "bench", "data": {"n": 1}}],
                          "sent_at_ns": 0}).encode()
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: api().post_to_connection(ConnectionId=connection_ids[i % len(connection_ids)],
                                                         Data=payload), range(total)))
    return time.perf_counter() - started


def trader(ticker: str, stop: threading.Event, every_s: float) -> None:
    """Makes trades: a fresh funded user buys 100 at market, then sells them, every ``every_s``."""
    import uuid

    from tests.fixtures.users import new_user

    user = new_user("ws-bench")
    assert user.post("/wallet/deposits", {"amountCents": 100_000_000, "idempotencyKey": uuid.uuid4().hex}).status \
        in (200, 201)
    side = "BUY"
    while not stop.wait(every_s):
        r = user.post("/orders", {"ticker": ticker, "side": side, "orderType": "MARKET", "quantity": 100,
                                  "timeInForce": "IOC"})
        if r.status == 201:
            side = "SELL" if side == "BUY" else "BUY"


async def run(n: int, seconds: float, ticker: str, token: str, flood_total: int) -> dict[str, Any]:
    import redis
    from mybroker.streaming.redis_store import RedisStore

    stop, ready = asyncio.Event(), asyncio.Event()
    lat: list[float] = []
    counts: dict[str, int] = {}
    marker = f"quotes:ZB{n:02d}{int(time.time()) % 10}"  # a channel only this run's clients use
    need = [n]
    offset = clock_offset_ns()
    received: list[tuple[int, float]] = []
    published: dict[int, float] = {}
    stop_kafka = threading.Event()
    threading.Thread(target=published_at, args=(ticker, stop_kafka, published), daemon=True).start()
    tasks = [asyncio.create_task(client(token, [f"trades:{ticker}", marker], stop, offset, lat, counts, ready,
                                        need, received)) for _ in range(n)]
    await asyncio.wait_for(ready.wait(), 120)
    stop_trading = threading.Event()
    making = threading.Thread(target=trader, args=(ticker, stop_trading, 0.5), daemon=True)
    making.start()
    await asyncio.sleep(seconds)
    stop_trading.set()
    await asyncio.sleep(2)  # the last trades' frames
    stop_kafka.set()
    hop = [at - published[seq] for seq, at in received if seq in published]
    ids = sorted(RedisStore(redis.Redis.from_url("redis://127.0.0.1:6379/0")).subscribers([marker]).get(marker, []))
    before = counts.get("frames", 0)
    took = await asyncio.get_running_loop().run_in_executor(None, flood, ids, flood_total)
    deadline = time.monotonic() + 60
    while counts.get("frames", 0) - before < flood_total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    drained = time.perf_counter()
    delivered = counts.get("frames", 0) - before
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"clients": n, "trade_samples": len(lat), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
            "mean_ms": statistics.fmean(lat) if lat else float("nan"),
            "pub_p50_ms": pct(hop, 0.5), "pub_p99_ms": pct(hop, 0.99),
            "flood_posted": flood_total, "flood_delivered": delivered, "posts_per_s": flood_total / took,
            "_drained": drained}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="1,100")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--ticker", default="PETR4")
    parser.add_argument("--flood", type=int, default=20000)
    args = parser.parse_args()
    from local_runtime.__main__ import load_state, use_runtime_credentials
    from local_runtime.aws_bootstrap import DEMO_TRADER, login

    state = load_state()
    use_runtime_credentials(state.get("region", "us-east-1"), state.get("aws_endpoint"))
    token = login(state, *DEMO_TRADER)["AccessToken"]
    print(f"{'clients':>7} {'samples':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'pub p50':>8} {'pub p99':>8} "
          f"{'posts/s':>9} {'delivered':>10}")
    for n in (int(c) for c in args.clients.split(",")):
        r = asyncio.run(run(n, args.seconds, args.ticker, token, args.flood))
        print(f"{r['clients']:>7} {r['trade_samples']:>7} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['mean_ms']:>8.1f} "
              f"{r['pub_p50_ms']:>8.1f} {r['pub_p99_ms']:>8.1f} {r['posts_per_s']:>9.0f} {r['flood_delivered']:>10}",
              flush=True)


if __name__ == "__main__":
    main()
