"""``mybroker watch``: quotes, the exchange's book (L2) and the user's open orders, live until Ctrl-C; ``--once``
renders one frame and exits.

Live, the view follows the WebSocket streaming API (``docs/streaming.md``): it subscribes to ``quotes:<T>``,
``book:<T>`` and ``trades:<T>`` of each ticker and to the user's own ``orders``, and redraws when one of them
moves, re-reading only the part that changed (quotes, one book, or the open orders) over HTTP. Nothing is
polled: a quiet market is not re-read at all. The WebSocket URL: ``MYBROKER_WS_URL``, else the local
runtime's (``ws://127.0.0.1:3001/live``) when the API is the local one."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from rich.console import Group
from rich.live import Live

from mybroker_client import render
from mybroker_client.client import ApiError
from mybroker_client.models import Order, OrderStatus

if TYPE_CHECKING:
    from mybroker_client.cli import Ctx

LOCAL_WS_URL = "ws://127.0.0.1:3001/live"


def _open_orders(ctx: Ctx, tickers: list[str]) -> list[Order]:
    mine: list[Order] = []
    for status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW):
        mine.extend(o for o in ctx.client.iter_orders(status=status) if o.ticker.removesuffix("F") in tickers
                    or o.ticker in tickers)
    return mine


def _book(ctx: Ctx, ticker: str) -> Any:
    try:
        return ctx.client.book(ticker)
    except ApiError:  # no book for that ticker (unknown, or the exchange is not up): show the rest
        return None


def snapshot(ctx: Ctx) -> dict[str, Any]:
    tickers = [t.upper() for t in ctx.args.tickers]
    page = ctx.client.quotes(tickers)
    books = {t: b for t in tickers if (b := _book(ctx, t)) is not None}
    return {"quotes": page.quotes, "missing": page.missing, "books": books, "openOrders": _open_orders(ctx, tickers)}


def frame(snap: dict[str, Any], tickers: list[str], note: str = "") -> Group:
    parts: list[Any] = [render.quotes_table(snap["quotes"], snap["missing"])]
    parts.extend(render.book_view(snap["books"][t], snap["openOrders"]) for t in tickers if t in snap["books"])
    parts.append(render.orders_table(snap["openOrders"], "Your open orders"))
    parts.append(f"updated {time.strftime('%H:%M:%S')}{note} · Ctrl-C to stop")
    return Group(*parts)


def ws_url(api_url: str) -> str:
    explicit = os.environ.get("MYBROKER_WS_URL")
    if explicit:
        return explicit
    host = urlsplit(api_url).hostname or ""
    if host in ("127.0.0.1", "localhost"):
        return LOCAL_WS_URL
    raise ApiError(0, "NO_WEBSOCKET_URL", "set MYBROKER_WS_URL to the stack's WebSocketUrl output")


def _refresh(ctx: Ctx, snap: dict[str, Any], tickers: list[str], dirty: set[str]) -> None:
    """Re-reads what the stream said changed: ``quotes``, ``orders`` or ``book:<T>``."""
    if "quotes" in dirty:
        page = ctx.client.quotes(tickers)
        snap["quotes"], snap["missing"] = page.quotes, page.missing
    for item in dirty:
        if item.startswith("book:") and item.partition(":")[2] in tickers:
            ticker = item.partition(":")[2]
            book = _book(ctx, ticker)
            if book is not None:
                snap["books"][ticker] = book
    if "orders" in dirty:
        snap["openOrders"] = _open_orders(ctx, tickers)


def _dirty(message: str) -> set[str]:
    frame_ = json.loads(message)
    out: set[str] = set()
    for event in frame_.get("events", []) if isinstance(frame_, dict) else []:
        channel = str(event.get("channel", ""))
        kind = channel.partition(":")[0]
        if kind in ("quotes", "trades"):
            out.add("quotes")
        elif kind == "book":
            out.add(channel)
        elif kind == "orders":
            out.add("orders")
            out.add(f"book:{str(event.get('data', {}).get('instrument', '')).removesuffix('F')}")
    return out


def stream(ctx: Ctx, tickers: list[str], live: Live | None, snap: dict[str, Any]) -> None:
    """Follows the streaming API until Ctrl-C, reconnecting (and resubscribing) when the connection drops."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    url = ws_url(ctx.client.base_url)
    channels = [f"{kind}:{t}" for t in tickers for kind in ("quotes", "book", "trades")] + ["orders"]
    token_of = ctx.client._token  # the client's own refreshing token source (it logs in again when expired)
    if token_of is None:
        raise ApiError(0, "NOT_LOGGED_IN", "log in first")
    refresh_token = False
    min_gap = max(0.05, float(ctx.args.interval) / 10)  # at most ten redraws per --interval
    while True:
        try:
            with connect(f"{url}?token={quote(token_of(refresh_token))}", open_timeout=15) as ws:
                refresh_token = False
                ws.send(json.dumps({"action": "subscribe", "channels": channels, "id": "watch"}))
                _refresh(ctx, snap, tickers, {"quotes", "orders", *(f"book:{t}" for t in tickers)})
                last_ping = time.monotonic()
                while True:
                    try:
                        message = ws.recv(timeout=240)
                    except TimeoutError:
                        message = None
                    if time.monotonic() - last_ping > 240:  # API Gateway closes a silent client at 10 min
                        ws.send(json.dumps({"action": "ping"}))
                        last_ping = time.monotonic()
                    if message is None:
                        continue
                    dirty = _dirty(str(message))
                    deadline = time.monotonic() + min_gap  # coalesce a burst into one redraw
                    while time.monotonic() < deadline:
                        try:
                            dirty |= _dirty(str(ws.recv(timeout=max(0.0, deadline - time.monotonic()))))
                        except TimeoutError:
                            break
                    if not dirty:
                        continue
                    _refresh(ctx, snap, tickers, dirty)
                    if ctx.json:
                        ctx.emit(snap)
                    elif live is not None:
                        live.update(frame(snap, tickers, " · live"), refresh=True)
        except InvalidStatus as exc:
            if exc.response.status_code != 401 or refresh_token:
                raise ApiError(exc.response.status_code, "STREAM_REFUSED", f"the streaming API refused: {exc}") from exc
            refresh_token = True  # an expired token: log in again once
        except (ConnectionClosed, OSError):
            time.sleep(1.0)  # reconnect and resubscribe


def watch(ctx: Ctx) -> int:
    tickers = [t.upper() for t in ctx.args.tickers]
    snap = snapshot(ctx)
    if ctx.args.once:
        ctx.emit(snap, lambda: frame(snap, tickers))
        return 0
    try:
        if ctx.json:
            ctx.emit(snap)
            stream(ctx, tickers, None, snap)
        with Live(frame(snap, tickers), console=ctx.out, auto_refresh=False, screen=False) as live:
            stream(ctx, tickers, live, snap)
    except KeyboardInterrupt:
        return 0
    return 0
