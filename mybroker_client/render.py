"""Human-readable output: money, tables (rich) and the live watch view. ``--json`` output bypasses all this."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mybroker_client.models import Order, Position, Quote, StatementLine, Wallet

SIDE_STYLE = {"BUY": "green", "SELL": "red"}


def brl(cents: int | None) -> str:
    """1234567 -> 'R$ 12.345,67' (Brazilian grouping)."""
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}R$ {whole:,}".replace(",", ".") + f",{frac:02d}"


def price(cents: int | None) -> str:
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_cents(text: str) -> int:
    """'35.75', '35,75', 'R$35.75', '1000' -> cents; refuses fractions of a cent and non-positive amounts."""
    cleaned = text.strip().upper().removeprefix("R$").strip().replace("_", "")
    if "," in cleaned and "." in cleaned:
        raise ValueError(f"ambiguous amount {text!r}: write 1234.56")
    cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{text!r}: at most two decimals (cents)")
    if cents <= 0:
        raise ValueError(f"{text!r}: must be positive")
    return int(cents)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str | Text]],
          right: Sequence[str] = ()) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, justify="right" if c in right else "left")
    for r in rows:
        t.add_row(*r)
    return t


def wallet_table(w: Wallet) -> Table:
    return table("Wallet (BRL)", ["available", "reserved", "receivable", "payable"],
                 [[brl(w.available_cents), brl(w.reserved_cents), brl(w.receivable_cents), brl(w.payable_cents)]],
                 right=["available", "reserved", "receivable", "payable"])


def quotes_table(quotes: Sequence[Quote], missing: Sequence[str] = ()) -> Table:
    cols = ["ticker", "last", "change", "open", "high", "low", "ref", "volume", "phase", "at"]
    rows: list[list[str | Text]] = []
    for q in quotes:
        change: str | Text = "-"
        if q.prev_close_cents:
            diff = q.last_cents - q.prev_close_cents
            pct = diff * 100 / q.prev_close_cents
            change = Text(f"{diff / 100:+.2f} ({pct:+.2f}%)", style="green" if diff >= 0 else "red")
        rows.append([q.ticker, price(q.last_cents), change, price(q.open_cents), price(q.high_cents),
                     price(q.low_cents), price(q.reference_cents), f"{q.day_volume:,}", q.phase,
                     q.ts.strftime("%H:%M:%S")])
    rows.extend([[t, "no quote", "", "", "", "", "", "", "", ""] for t in missing])
    return table("Quotes", cols, rows, right=["last", "change", "open", "high", "low", "ref", "volume"])


def book_view(quote: Quote | None, ticker: str, orders: Sequence[Order]) -> Group:
    """What the API can show of a book: the last/reference price, and the user's own resting orders by
    level. The engine's depth (L2) is not exposed by any route yet (a GET /market/book/{ticker} is needed)."""
    head = Text(f"{ticker}  ", style="bold")
    if quote is not None:
        head.append(f"last {price(quote.last_cents)}  ref {price(quote.reference_cents)}  "
                    f"vol {quote.day_volume:,}  {quote.phase}")
    else:
        head.append("no quote")
    levels: dict[tuple[str, int], tuple[int, int]] = {}
    for o in orders:
        if o.ticker != ticker or not o.status.open or o.price_cents is None:
            continue
        q, n = levels.get((o.side.value, o.price_cents), (0, 0))
        levels[(o.side.value, o.price_cents)] = (q + o.leaves_quantity, n + 1)
    bids = sorted(((p, v) for (s, p), v in levels.items() if s == "BUY"), reverse=True)
    asks = sorted((p, v) for (s, p), v in levels.items() if s == "SELL")
    rows: list[list[str | Text]] = []
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        rows.append([str(b[1][1]) if b else "", f"{b[1][0]:,}" if b else "", Text(price(b[0]), "green") if b else "",
                     Text(price(a[0]), "red") if a else "", f"{a[1][0]:,}" if a else "", str(a[1][1]) if a else ""])
    t = table("Your resting orders by level",
              ["orders", "bid qty", "bid", "ask", "ask qty", "orders "], rows,
              right=["orders", "bid qty", "bid"])
    return Group(head, Text("(the exchange's depth is not exposed by the API: no book route)", style="dim"), t)


def orders_table(orders: Sequence[Order], title: str = "Orders") -> Table:
    cols = ["order id", "ticker", "side", "type", "tif", "qty", "price", "stop", "filled", "leaves", "avg",
            "status", "reason"]
    rows: list[list[str | Text]] = [
        [o.order_id, o.ticker, Text(o.side.value, SIDE_STYLE[o.side.value]), o.order_type.value,
         o.time_in_force.value, f"{o.quantity:,}", price(o.price_cents or o.protection_price_cents),
         price(o.stop_price_cents), f"{o.cum_quantity:,}", f"{o.leaves_quantity:,}",
         price(o.avg_price_cents or None), o.status.value, o.reason]
        for o in orders]
    return table(title, cols, rows, right=["qty", "price", "stop", "filled", "leaves", "avg"])


def fills_table(order: Order) -> Table:
    rows: list[list[str | Text]] = [
        [str(f.exec_id), str(f.trade_id), f"{f.quantity:,}", price(f.price_cents), brl(f.fees_cents),
         brl(f.quantity * f.price_cents), f.occurred_at.isoformat(timespec="seconds")]
        for f in order.fills or []]
    return table(f"Fills of {order.order_id} ({order.ticker} {order.side.value} {order.cum_quantity:,}/"
                 f"{order.quantity:,} {order.status.value})",
                 ["exec", "trade", "qty", "price", "fees", "value", "at"], rows,
                 right=["qty", "price", "fees", "value"])


def positions_table(items: Sequence[Position], total_cents: int) -> Table:
    rows: list[list[str | Text]] = []
    for p in items:
        pnl: str | Text = "-"
        if p.market_value_cents is not None:
            d = p.market_value_cents - p.cost_cents
            pnl = Text(brl(d), style="green" if d >= 0 else "red")
        rows.append([p.ticker, f"{p.total_quantity:,}", f"{p.available_quantity:,}", f"{p.reserved_quantity:,}",
                     f"{p.receivable_quantity:,}", price(p.average_price_cents), price(p.last_price_cents),
                     brl(p.market_value_cents), pnl])
    return table(f"Positions (market value {brl(total_cents)})",
                 ["ticker", "total", "available", "reserved", "receivable", "avg price", "last", "value", "P&L"],
                 rows, right=["total", "available", "reserved", "receivable", "avg price", "last", "value", "P&L"])


def statement_table(lines: Sequence[StatementLine]) -> Table:
    rows: list[list[str | Text]] = [
        [x.posted_at.isoformat(timespec="seconds"), x.kind, x.bucket, x.asset,
         brl(x.amount) if x.asset == "BRL" else f"{x.amount:+,}", x.ref, x.memo] for x in lines]
    return table("Statement (newest first)", ["posted", "kind", "bucket", "asset", "amount", "ref", "memo"], rows,
                 right=["amount"])


def console(stderr: bool = False) -> Console:
    """A terminal gets its own width; a pipe or file gets wide tables rather than 80 truncated columns."""
    import os
    import sys

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
