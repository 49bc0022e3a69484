"""``mybroker watch``: quotes, the exchange's book (L2) and the user's open orders, refreshed
live (rich's Live) until Ctrl-C; ``--once`` renders one frame and exits."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live

from mybroker_client import render
from mybroker_client.client import ApiError
from mybroker_client.models import Order, OrderStatus

if TYPE_CHECKING:
    from mybroker_client.cli import Ctx


def snapshot(ctx: Ctx) -> dict[str, Any]:
    c = ctx.client
    tickers = [t.upper() for t in ctx.args.tickers]
    page = c.quotes(tickers)
    mine: list[Order] = []
    for status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW):
        mine.extend(o for o in c.iter_orders(status=status) if o.ticker.removesuffix("F") in tickers
                    or o.ticker in tickers)
    books = {}
    for t in tickers:
        try:
            books[t] = c.book(t)
        except ApiError:  # no book for that ticker (unknown, or the exchange is not up): show the rest
            continue
    return {"quotes": page.quotes, "missing": page.missing, "books": books, "openOrders": mine}


def frame(snap: dict[str, Any], tickers: list[str]) -> Group:
    parts: list[Any] = [render.quotes_table(snap["quotes"], snap["missing"])]
    parts.extend(render.book_view(snap["books"][t], snap["openOrders"]) for t in tickers if t in snap["books"])
    parts.append(render.orders_table(snap["openOrders"], "Your open orders"))
    parts.append(f"updated {time.strftime('%H:%M:%S')} · Ctrl-C to stop")
    return Group(*parts)


def watch(ctx: Ctx) -> int:
    tickers = [t.upper() for t in ctx.args.tickers]
    if ctx.args.once:
        snap = snapshot(ctx)
        ctx.emit(snap, lambda: frame(snap, tickers))
        return 0
    try:
        with Live(frame(snapshot(ctx), tickers), console=ctx.out, auto_refresh=False, screen=False) as live:
            while True:
                time.sleep(max(0.2, float(ctx.args.interval)))
                if ctx.json:
                    ctx.emit(snapshot(ctx))
                else:
                    live.update(frame(snapshot(ctx), tickers), refresh=True)
    except KeyboardInterrupt:
        return 0
