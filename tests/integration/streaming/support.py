"""Clients of the local WebSocket API for the streaming tests: a socket per user, the store, the pusher
invoked directly with a Kafka event (nothing is published to the shared topics), and signed @connections
calls made with the pusher's own key."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from mybroker.streaming.redis_store import RedisStore
from websockets.sync.client import ClientConnection, connect

WS_URL = "ws://127.0.0.1:3001/live"
CALLBACK_URL = "http://127.0.0.1:3002/live"
API = "http://127.0.0.1:3000"


def store() -> RedisStore:
    return RedisStore(redis.Redis.from_url("redis://127.0.0.1:6379/0"))


def fresh_ticker() -> str:
    """A ticker nothing else trades: four letters, then 3 (matches the ticker pattern)."""
    letters = "".join(chr(ord("A") + b % 26) for b in uuid.uuid4().bytes[:4])
    return f"{letters}3"


class Socket:
    def __init__(self, token: str, *, subprotocol: bool = False, **kw: Any) -> None:
        self._stack = contextlib.ExitStack()
        if subprotocol:
            opened = connect(WS_URL, subprotocols=["mybroker.v1", token], **kw)  # type: ignore[list-item]
        else:
            opened = connect(f"{WS_URL}?token={token}", **kw)
        self.ws: ClientConnection = self._stack.enter_context(opened)
        self.seen: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> None:
        self.ws.send(json.dumps(body))

    def request(self, body: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """Sends a frame with a fresh id and returns the answer to it (pushed events seen meanwhile are kept)."""
        rid = uuid.uuid4().hex[:12]
        self.send({**body, "id": rid})
        return self.until(lambda f: f.get("id") == rid, timeout)

    def subscribe(self, *channels: str) -> dict[str, Any]:
        return self.request({"action": "subscribe", "channels": list(channels)})

    def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; seen {self.seen[-5:]}")
            frame: dict[str, Any] = json.loads(self.ws.recv(timeout=left))
            self.seen.append(frame)
            if match(frame):
                return frame

    def event(self, channel: str, match: Callable[[dict[str, Any]], bool] = lambda d: True,
              timeout: float = 20) -> dict[str, Any]:
        """The data of the first pushed event on ``channel`` that matches (waiting for it)."""
        for data in self.pushed(channel):
            if match(data):
                return data
        while True:
            frame = self.until(lambda f: f.get("type") == "events", timeout)
            for event in frame["events"]:
                if event["channel"] == channel and match(event["data"]):
                    return dict(event["data"])

    def pushed(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [e["data"] for f in self.seen if f.get("type") == "events" for e in f["events"]
                if channel is None or e["channel"] == channel]

    def close(self) -> None:
        self._stack.close()


def connection_of(channel_key: str, before: set[str] | None = None) -> str:
    """The connection id subscribed to a channel only one test connection uses."""
    members = store().subscribers([channel_key]).get(channel_key, set()) - (before or set())
    assert len(members) == 1, members
    return next(iter(members))


def kafka_event(topic: str, values: list[bytes]) -> dict[str, Any]:
    return {"eventSource": "SelfManagedKafka", "bootstrapServers": "127.0.0.1:9092",
            "records": {f"{topic}-0": [
                {"topic": topic, "partition": 0, "offset": i, "timestamp": int(time.time() * 1000),
                 "timestampType": "CREATE_TIME", "key": None, "headers": [],
                 "value": base64.b64encode(v).decode()} for i, v in enumerate(values)]}}


def invoke_pusher(topic: str, values: list[bytes]) -> dict[str, Any]:
    import urllib.request

    from local_runtime.credentials import control_headers

    req = urllib.request.Request(f"{API}/_local/functions/streaming-pusher/invoke", method="POST",
                                 data=json.dumps(kafka_event(topic, values)).encode(), headers=control_headers())
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.headers.get("x-amz-function-error") is None, r.read()
        answer: dict[str, Any] = json.loads(r.read())
        return answer


def management(principal: str = "streaming-pusher") -> Any:
    import boto3
    from botocore.config import Config

    from local_runtime.credentials import aws_key

    key = aws_key(principal)
    return boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=CALLBACK_URL, region_name="us-east-1",
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))


def trade(ticker: str, seq: int, ts_ns: int | None = None) -> bytes:
    from mybroker.contracts.exchange import TradeEvent

    return TradeEvent(instrument=ticker, seq=seq, ts_ns=ts_ns or time.time_ns(), trade_id=seq, price_cents=1000,
                      quantity=100, aggressor_side="BUY").model_dump_json().encode()
