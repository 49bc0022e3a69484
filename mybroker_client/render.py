"""Human-readable output: money, tables (rich) and the live watch view. ``--json`` output bypasses all this."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mybroker_client.models import BookSnapshot, Order, Position, Quote, StatementLine, Wallet

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


def book_view(book: BookSnapshot, orders: Sequence[Order]) -> Group:
    """The exchange's L2 book (aggregated levels, best first) with the user's own resting quantity at each."""
    head = Text(f"{book.instrument}  ", style="bold")
    head.append(f"{book.phase}  ref {price(book.reference_price_cents)}  last {price(book.last_price_cents)}")
    mine: dict[tuple[str, int], int] = {}
    for o in orders:
        if o.ticker == book.instrument and o.status.open and o.price_cents is not None:
            mine[(o.side.value, o.price_cents)] = mine.get((o.side.value, o.price_cents), 0) + o.leaves_quantity
    rows: list[list[str | Text]] = []
    for i in range(max(len(book.bids), len(book.asks))):
        b = book.bids[i] if i < len(book.bids) else None
        a = book.asks[i] if i < len(book.asks) else None
        rows.append([
            f"{mine.get(('BUY', b.price_cents), 0):,}" if b and ("BUY", b.price_cents) in mine else "",
            str(b.orders) if b else "", f"{b.quantity:,}" if b else "",
            Text(price(b.price_cents), "green") if b else "", Text(price(a.price_cents), "red") if a else "",
            f"{a.quantity:,}" if a else "", str(a.orders) if a else "",
            f"{mine.get(('SELL', a.price_cents), 0):,}" if a and ("SELL", a.price_cents) in mine else "",
        ])
    t = table("Book (L2)", ["yours", "orders", "bid qty", "bid", "ask", "ask qty", "orders ", "yours "], rows,
              right=["yours", "orders", "bid qty", "bid"])
    return Group(head, t)


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


def note(n: dict[str, Any]) -> Group:
    """A brokerage note as the SINACOR layout lists it: trades, business summary, financial summary, net."""
    trades = table(f"Nota de corretagem {n['number']} · pregão {n['tradeDate']} · liquidação {n['settleDate']}",
                   ["C/V", "mercado", "título", "obs", "quantidade", "preço", "valor", "D/C"],
                   [[t["side"], t["market"], t["ticker"], t["obs"], f"{t['quantity']:,}", price(t["priceCents"]),
                     brl(t["valueCents"]), t["dc"]] for t in n["trades"]], right=["quantidade", "preço", "valor"])
    summary = table("Resumo", ["", "R$"], [
        ["vendas à vista", brl(n["salesCents"])], ["compras à vista", brl(n["purchasesCents"])],
        ["valor das operações", brl(n["totalTradedCents"])],
        ["taxa de liquidação", brl(n["settlementFeeCents"])], ["emolumentos", brl(n["tradingFeeCents"])],
        ["corretagem", brl(n["brokerageCents"])], ["ISS", brl(n["issCents"])],
        [f"IRRF (base {brl(n['irrfBaseCents'])})", brl(n["irrfCents"])],
        [f"IRRF day trade (base {brl(n['dayTradeIrrfBaseCents'])})", brl(n["dayTradeIrrfCents"])],
        [f"líquido para {n['settleDate']}", brl(n["netCents"])]], right=["R$"])
    return Group(trades, summary)


def tax_month(t: dict[str, Any]) -> Group:
    cats = table(f"Imposto de renda {t['month']} · vendas de ações (swing) {brl(t['stockSwingSalesCents'])}"
                 f"{' · isento' if t['exempt'] else ''}", ["kind", "trading", "sales", "result"],
                 [[c["kind"], c["trading"], brl(c["salesCents"]), brl(c["resultCents"])] for c in t["categories"]],
                 right=["sales", "result"])
    pools = table("Per loss pool", ["pool", "gains", "losses", "exempt", "loss in", "taxable", "loss out", "rate",
                                    "tax"],
                  [[p["pool"], brl(p["gainsCents"]), brl(p["lossesCents"]), brl(p["exemptGainsCents"]),
                    brl(p["lossCarriedInCents"]), brl(p["taxableCents"]), brl(p["lossCarriedOutCents"]),
                    f"{p['ratePercent']} %", brl(p["taxCents"])] for p in t["pools"]],
                  right=["gains", "losses", "exempt", "loss in", "taxable", "loss out", "tax"])
    darf = (f"tax {brl(t['taxCents'])} - IRRF deducted {brl(t['irrfDeductedCents'])} → DARF {t['darfCode']}: "
            f"{brl(t['darfCents'])} due {t['dueDate']}"
            + (f" (carried to next month: {brl(t['darfCarriedOutCents'])})" if t["darfCarriedOutCents"] else ""))
    return Group(cats, pools, darf)


def year_end(y: dict[str, Any]) -> Table:
    return table(f"Posições em {y['asOf']} (custo médio, com taxas)", ["ticker", "kind", "quantity", "avg price",
                                                                      "cost"],
                 [[p["ticker"], p["kind"], f"{p['quantity']:,}", price(p["averagePriceCents"]), brl(p["costCents"])]
                  for p in y["items"]], right=["quantity", "avg price", "cost"])


def console(stderr: bool = False) -> Console:
    """A terminal gets its own width; a pipe or file gets wide tables rather than 80 truncated columns."""
    import os
    import sys

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
