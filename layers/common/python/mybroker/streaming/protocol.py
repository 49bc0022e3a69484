"""What the streaming API answers a client's frame (``subscribe``, ``unsubscribe``, ``ping``, anything else),
given the connection's account: the isolation rule applies here, before anything reaches the store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from mybroker.contracts.streaming import (
    MAX_CHANNELS_PER_CONNECTION,
    MAX_CHANNELS_PER_REQUEST,
    MAX_FRAME_BYTES,
    ErrorFrame,
    PingRequest,
    Pong,
    Subscribed,
    SubscribeRequest,
    Unsubscribed,
)
from mybroker.streaming.channels import Channel, ChannelError, resolve
from mybroker.streaming.store import Connection, SubscriptionStore, TooManyChannels

BookReader = Callable[[str], dict[str, Any] | None]  # ticker -> the exchange's BookSnapshot, or None


def _request_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def handle(body: str | None, connection: Connection, store: SubscriptionStore, books: BookReader,
           now_ns: Callable[[], int] = time.time_ns) -> str:
    """The answer frame (JSON) to one client frame."""
    if body is None or len(body.encode()) > MAX_FRAME_BYTES:
        return ErrorFrame(code="INVALID_JSON", message=f"send one JSON object of at most {MAX_FRAME_BYTES} bytes"
                          ).to_json()
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser
        return ErrorFrame(code="INVALID_JSON", message="the frame is not JSON").to_json()
    rid = _request_id(raw)
    action = raw.get("action") if isinstance(raw, dict) else None
    try:
        if action == "ping":
            PingRequest.model_validate(raw)
            return Pong(id=rid, server_time_ns=now_ns()).to_json()
        if action in ("subscribe", "unsubscribe"):
            request = SubscribeRequest.model_validate(raw)
        else:
            return ErrorFrame(id=rid, code="UNKNOWN_ACTION",
                              message="action: subscribe, unsubscribe or ping").to_json()
    except ValidationError as exc:
        return ErrorFrame(id=rid, code="INVALID_CHANNEL",
                          message=str(exc.errors()[0].get("msg", "invalid request"))).to_json()
    if len(request.channels) > MAX_CHANNELS_PER_REQUEST:
        return ErrorFrame(id=rid, code="TOO_MANY_CHANNELS",
                          message=f"at most {MAX_CHANNELS_PER_REQUEST} channels per request").to_json()
    resolved: list[Channel] = []
    errors: list[ChannelError] = []
    for name in request.channels:
        try:
            resolved.append(resolve(name, connection.account_id))
        except ChannelError as exc:
            errors.append(exc)
    if errors:
        forbidden = [e for e in errors if e.code == "FORBIDDEN_CHANNEL"]
        first = (forbidden or errors)[0]
        return ErrorFrame(id=rid, code=first.code, message=str(first), channels=[e.channel for e in errors]).to_json()
    keys = [c.key for c in resolved]
    names = list(dict.fromkeys(c.name for c in resolved))
    if request.action == "unsubscribe":
        store.unsubscribe(connection.connection_id, keys)
        return Unsubscribed(id=rid, channels=names).to_json()
    try:
        store.subscribe(connection.connection_id, keys, MAX_CHANNELS_PER_CONNECTION)
    except TooManyChannels as exc:
        return ErrorFrame(id=rid, code="TOO_MANY_CHANNELS", message=str(exc)).to_json()
    snapshots: dict[str, dict[str, Any]] = {}
    for name in names:
        if name.startswith("book:"):
            snapshot = books(name.partition(":")[2])
            if snapshot is not None:
                snapshots[name] = snapshot
    return Subscribed(id=rid, channels=names, snapshots=snapshots or None).to_json()
