"""The WebSocket streaming API's frames (``docs/streaming.md``). Version 1.

Client → server: one JSON object per frame, routed by its ``action`` (API Gateway's route selection
``$request.body.action``): :class:`SubscribeRequest` for ``subscribe``/``unsubscribe``, :class:`PingRequest`.
Server → client: one JSON object per frame with a ``type``: ``subscribed``, ``unsubscribed``, ``pong``,
``error`` and ``events`` (pushed events, oldest first).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL: Final = "mybroker.v1"  # the subprotocol a browser offers first (its token second)
STAGE: Final = "live"
MAX_CHANNELS_PER_CONNECTION: Final = 50
MAX_CHANNELS_PER_REQUEST: Final = 50
MAX_FRAME_BYTES: Final = 32 * 1024  # API Gateway's WebSocket frame limit

ErrorCode = Literal["INVALID_JSON", "UNKNOWN_ACTION", "INVALID_CHANNEL", "FORBIDDEN_CHANNEL", "TOO_MANY_CHANNELS",
                    "INTERNAL_ERROR"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str | None = Field(default=None, max_length=64)


class SubscribeRequest(_Request):
    action: Literal["subscribe", "unsubscribe"]
    channels: list[str] = Field(min_length=1)


class PingRequest(_Request):
    action: Literal["ping"]


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class Subscribed(_Frame):
    type: Literal["subscribed"] = "subscribed"
    id: str | None = None
    channels: list[str]
    # book:<TICKER> channels: the exchange's current book (a BookSnapshot) at the time of the subscription
    snapshots: dict[str, dict[str, Any]] | None = None


class Unsubscribed(_Frame):
    type: Literal["unsubscribed"] = "unsubscribed"
    id: str | None = None
    channels: list[str]


class Pong(_Frame):
    type: Literal["pong"] = "pong"
    id: str | None = None
    server_time_ns: int


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    id: str | None = None
    code: ErrorCode
    message: str
    channels: list[str] | None = None


class PushedEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    channel: str
    data: dict[str, Any]


class Events(_Frame):
    type: Literal["events"] = "events"
    events: list[PushedEvent]
    sent_at_ns: int


class WalletCause(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_id: str
    event_type: str
    order_id: str


class WalletChange(BaseModel):
    """``data`` of a ``wallet`` channel event: the wallet view (GET /wallet's body) after ``cause``."""

    model_config = ConfigDict(frozen=True)
    account_id: str
    cause: WalletCause
    applied: bool  # False: the wallet had not applied ``cause`` within the pusher's bound
    wallet: dict[str, Any]
