"""``mybroker``: the command line of My Broker B3 (see docs/client.md).

Exit codes: 0 ok · 1 the API refused (4xx) · 2 usage or configuration · 3 not logged in / authentication ·
4 unavailable (5xx, network) · 5 simulate-day finished but its reconciliation is not clean.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.console import Group

from mybroker_client import render
from mybroker_client.auth import Auth, AuthError, TokenStore, describe
from mybroker_client.client import ApiError, Client
from mybroker_client.config import ConfigError, Target, deployed_target, local_target
from mybroker_client.models import (
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

OK, REFUSED, USAGE, AUTH, UNAVAILABLE, UNRECONCILED = 0, 1, 2, 3, 4, 5
ORDER_TYPES = {"limit": OrderType.LIMIT, "market": OrderType.MARKET, "stop": OrderType.STOP,
               "stop-limit": OrderType.STOP_LIMIT, "mwlal": OrderType.MARKET_WITH_LEFTOVER_AS_LIMIT}
TIFS = {t.value.lower().replace("_", "-"): t for t in TimeInForce}


class UsageError(Exception):
    pass


class Ctx:
    """What a command needs: the parsed arguments, the output mode and (lazily) the logged-in client."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = bool(args.json)
        self.out = render.console()
        self._client: Client | None = None

    @property
    def profile(self) -> str:
        return str(self.args.profile)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client.for_profile(self.profile)
        return self._client

    def emit(self, data: Any, human: Callable[[], Any] | None = None) -> None:
        if self.json:
            print(json.dumps(_jsonable(data), indent=2, default=str))
        elif human is not None:
            shown = human()
            if shown is not None:
                self.out.print(shown)


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, list):
        return [_jsonable(x) for x in data]
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    return data


def _password(args: argparse.Namespace) -> str:
    pw = args.password or os.environ.get("MYBROKER_PASSWORD")
    if pw:
        return str(pw)
    if not sys.stdin.isatty():
        raise UsageError("no password: pass --password, set MYBROKER_PASSWORD or run in a terminal")
    return getpass.getpass("Password: ")


def _target(args: argparse.Namespace) -> Target:
    if args.outputs_file:
        return deployed_target(args.outputs_file)
    return local_target(args.api_url)


# ---- commands -------------------------------------------------------------------------------------------------

def cmd_signup(ctx: Ctx) -> int:
    a = ctx.args
    target = _target(a)
    auth = Auth(TokenStore(ctx.profile), target)
    confirmed = auth.sign_up(a.email, _password(a))
    result: dict[str, Any] = {"username": a.email, "confirmed": confirmed, "loggedIn": False}
    if confirmed and not a.no_login:
        auth.login(a.email, _password(a))
        result["loggedIn"] = True
    ctx.emit(result, lambda: f"signed up {a.email}" + (
        " and logged in" if result["loggedIn"] else
        "" if confirmed else f": confirm with `mybroker confirm {a.email} <code from the e-mail>`"))
    return OK


def cmd_confirm(ctx: Ctx) -> int:
    a = ctx.args
    Auth(TokenStore(ctx.profile), _target(a)).confirm(a.email, a.code)
    ctx.emit({"username": a.email, "confirmed": True}, lambda: f"{a.email} confirmed: now `mybroker login`")
    return OK


def cmd_login(ctx: Ctx) -> int:
    a = ctx.args
    session = Auth(TokenStore(ctx.profile), _target(a)).login(a.email, _password(a))
    ctx.emit(describe(session), lambda: f"logged in as {a.email} at {session.target.api_url} (profile {ctx.profile})")
    return OK


def cmd_logout(ctx: Ctx) -> int:
    store = TokenStore(ctx.profile)
    session = store.load()
    removed = Auth(store, session.target).logout() if session else False
    ctx.emit({"loggedOut": removed}, lambda: "logged out" if removed else "was not logged in")
    return OK


def cmd_whoami(ctx: Ctx) -> int:
    session = TokenStore(ctx.profile).load()
    if session is None or not session.logged_in:
        raise AuthError(f"not logged in (profile {ctx.profile})", "NOT_LOGGED_IN")
    ctx.emit(describe(session), lambda: f"{session.username} at {session.target.api_url} (profile {ctx.profile})")
    return OK


def cmd_deposit(ctx: Ctx) -> int:
    r = ctx.client.deposit(render.parse_cents(ctx.args.amount), ctx.args.key)
    ctx.emit(r, lambda: Group(f"deposited {render.brl(r.amount_cents)} (entry {r.entry_id})",
                                     render.wallet_table(r.wallet)))
    return OK


def cmd_withdraw(ctx: Ctx) -> int:
    r = ctx.client.withdraw(render.parse_cents(ctx.args.amount), ctx.args.key)
    ctx.emit(r, lambda: Group(f"withdrew {render.brl(r.amount_cents)} (entry {r.entry_id})",
                                     render.wallet_table(r.wallet)))
    return OK


def cmd_wallet(ctx: Ctx) -> int:
    w = ctx.client.wallet()
    ctx.emit(w, lambda: render.wallet_table(w))
    return OK


def cmd_quote(ctx: Ctx) -> int:
    page = ctx.client.quotes(ctx.args.tickers)
    ctx.emit(page, lambda: render.quotes_table(page.quotes, page.missing))
    return REFUSED if not page.quotes else OK


def _open_orders(c: Client, ticker: str | None = None) -> list[Order]:
    out: list[Order] = []
    for status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW):
        out.extend(c.iter_orders(status=status, ticker=ticker))
    return out


def cmd_book(ctx: Ctx) -> int:
    t = ctx.args.ticker.upper()
    depth = ctx.client.book(t)
    mine = _open_orders(ctx.client, t)
    ctx.emit({"ticker": t, "book": depth, "yourOrders": mine}, lambda: render.book_view(depth, mine))
    return OK


def _order_request(a: argparse.Namespace, side: Side) -> PlaceOrder:
    kind = a.type or ("limit" if a.price else "market")
    otype = ORDER_TYPES[kind]
    price = render.parse_cents(a.price) if a.price else None
    stop = render.parse_cents(a.stop) if a.stop else None
    if otype in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
        raise UsageError(f"a {kind} order needs --price")
    if otype in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
        raise UsageError(f"a {kind} order needs --stop")
    tif = TIFS[a.tif]
    expire = date.fromisoformat(a.expire) if a.expire else None
    if expire is not None and tif is TimeInForce.DAY:
        tif = TimeInForce.GTD
    return PlaceOrder(ticker=a.ticker.upper(), side=side, quantity=a.quantity, order_type=otype, time_in_force=tif,
                      price_cents=price, stop_price_cents=stop, display_quantity=a.display, min_quantity=a.min_qty,
                      expire_date=expire, client_order_id=a.client_order_id,
                      self_trade_prevention=SelfTradePrevention(a.stp) if a.stp else None)


def _place(ctx: Ctx, side: Side) -> int:
    order = ctx.client.place_order(_order_request(ctx.args, side))
    if ctx.args.wait:
        order = wait_for(ctx.client, order.order_id, ctx.args.wait)
    ctx.emit(order, lambda: render.orders_table([order], "Order placed"))
    return OK


def wait_for(c: Client, order_id: str, timeout_s: float,
             done: Callable[[Order], bool] = lambda o: o.status not in (OrderStatus.PENDING_NEW,)) -> Order:
    """Polls the order until ``done`` (default: the engine answered) or the timeout; returns it with fills."""
    deadline = time.monotonic() + timeout_s
    while True:
        o = c.get_order(order_id)
        if done(o) or time.monotonic() >= deadline:
            return o
        time.sleep(0.2)


def cmd_buy(ctx: Ctx) -> int:
    return _place(ctx, Side.BUY)


def cmd_sell(ctx: Ctx) -> int:
    return _place(ctx, Side.SELL)


def cmd_cancel(ctx: Ctx) -> int:
    o = ctx.client.cancel_order(ctx.args.order_id)
    ctx.emit(o, lambda: render.orders_table([o], "Cancel requested"))
    return OK


def cmd_replace(ctx: Ctx) -> int:
    a = ctx.args
    if a.quantity is None and a.price is None:
        raise UsageError("replace needs --quantity and/or --price")
    o = ctx.client.replace_order(a.order_id, ReplaceOrder(
        quantity=a.quantity, price_cents=render.parse_cents(a.price) if a.price else None))
    ctx.emit(o, lambda: render.orders_table([o], "Replace requested"))
    return OK


def cmd_orders(ctx: Ctx) -> int:
    a = ctx.args
    if a.open:
        items = _open_orders(ctx.client, a.ticker)
        total = len(items)
    else:
        page = ctx.client.list_orders(a.status, a.ticker, date.fromisoformat(a.date) if a.date else None, a.limit,
                                      a.offset)
        items, total = page.items, page.total
    ctx.emit({"items": items, "total": total}, lambda: render.orders_table(items, f"Orders ({total})"))
    return OK


def cmd_order(ctx: Ctx) -> int:
    o = ctx.client.get_order(ctx.args.order_id)
    ctx.emit(o, lambda: Group(render.orders_table([o], "Order"), render.fills_table(o)))
    return OK


def cmd_fills(ctx: Ctx) -> int:
    o = ctx.client.get_order(ctx.args.order_id)
    ctx.emit(o.fills or [], lambda: render.fills_table(o))
    return OK


def cmd_positions(ctx: Ctx) -> int:
    p = ctx.client.positions()
    ctx.emit(p, lambda: render.positions_table(p.items, p.market_value_cents))
    return OK


def cmd_statement(ctx: Ctx) -> int:
    a = ctx.args
    s = ctx.client.statement(date.fromisoformat(a.start) if a.start else None,
                             date.fromisoformat(a.end) if a.end else None, a.asset, a.limit, a.cursor)
    ctx.emit(s, lambda: Group(render.statement_table(s.items),
                                     f"more: --cursor {s.next_cursor}" if s.next_cursor else ""))
    return OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not a date YYYY-MM-DD: {text!r}") from None


def cmd_note(ctx: Ctx) -> int:
    day = _day(ctx.args.date)
    if ctx.args.pdf:
        pdf = ctx.client.note_pdf(day)
        with open(ctx.args.pdf, "wb") as f:
            f.write(pdf)
        ctx.emit({"file": ctx.args.pdf, "bytes": len(pdf)}, lambda: f"saved {ctx.args.pdf} ({len(pdf):,} bytes)")
        return OK
    n = ctx.client.note(day)
    ctx.emit(n, lambda: render.note(n))
    return OK


def cmd_tax(ctx: Ctx) -> int:
    t = ctx.client.tax_month(ctx.args.month)
    ctx.emit(t, lambda: render.tax_month(t))
    return OK


def cmd_year_end(ctx: Ctx) -> int:
    y = ctx.client.year_end(ctx.args.year)
    ctx.emit(y, lambda: render.year_end(y))
    return OK


def cmd_status(ctx: Ctx) -> int:
    s = ctx.client.market_status()
    ctx.emit(s, lambda: render.table(
        f"B3 session {s.now:%Y-%m-%d %H:%M} ({s.variant}): {s.phase}, next {s.next_phase} at "
        f"{s.next_change_at:%Y-%m-%d %H:%M}", ["phase", "start", "end"],
        [[w.phase, f"{w.start:%H:%M}", f"{w.end:%H:%M}"] for w in s.windows]))
    return OK


def cmd_watch(ctx: Ctx) -> int:
    from mybroker_client.watch import watch

    return watch(ctx)


def cmd_simulate_day(ctx: Ctx) -> int:
    from mybroker_client.simulate import run

    return run(ctx)


# ---- the parser -----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output (JSON on stdout; errors as JSON on stderr)")
    common.add_argument("--profile", default=argparse.SUPPRESS,
                        help="token/target profile (default: $MYBROKER_PROFILE or 'default')")
    p = argparse.ArgumentParser(prog="mybroker", parents=[common],
                                description="My Broker B3 from the command line (see docs/client.md).",
                                epilog="exit codes: 0 ok, 1 API refusal (4xx), 2 usage, 3 not logged in/auth, "
                                       "4 unavailable (5xx/network), 5 simulate-day not reconciled")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[Ctx], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, parents=[common], help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    def target_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--outputs-file", help="CDK outputs JSON of a deployed stack (default: the local stack)")
        sp.add_argument("--api-url", help="override the local API URL (default http://127.0.0.1:3000)")

    sp = add("signup", cmd_signup, "create a user (local stack: confirmed at once) and log in")
    sp.add_argument("email")
    sp.add_argument("--password", help="or $MYBROKER_PASSWORD, or asked")
    sp.add_argument("--no-login", action="store_true")
    target_opts(sp)
    sp = add("confirm", cmd_confirm, "confirm a sign-up with the e-mailed code (AWS)")
    sp.add_argument("email")
    sp.add_argument("code")
    target_opts(sp)
    sp = add("login", cmd_login, "log in (Cognito USER_PASSWORD_AUTH); tokens cached per profile")
    sp.add_argument("email")
    sp.add_argument("--password", help="or $MYBROKER_PASSWORD, or asked")
    target_opts(sp)
    add("logout", cmd_logout, "forget (and revoke) the profile's tokens")
    add("whoami", cmd_whoami, "who the profile is logged in as, and where")

    for name, fn in (("deposit", cmd_deposit), ("withdraw", cmd_withdraw)):
        sp = add(name, fn, f"{name} BRL (PIX, simulated): AMOUNT in reais, e.g. 1000 or 1234.56")
        sp.add_argument("amount")
        sp.add_argument("--key", help="idempotency key (default: a fresh one)")
    add("wallet", cmd_wallet, "cash balances")
    sp = add("quote", cmd_quote, "latest quotes of one or several tickers")
    sp.add_argument("tickers", nargs="+", metavar="TICKER")
    sp = add("book", cmd_book, "a ticker's book as far as the API shows it")
    sp.add_argument("ticker")
    add("status", cmd_status, "the B3 session phase and today's schedule")

    for name, fn in (("buy", cmd_buy), ("sell", cmd_sell)):
        sp = add(name, fn, f"place a {name} order (limit with --price, market without)")
        sp.add_argument("ticker")
        sp.add_argument("quantity", type=int)
        sp.add_argument("--price", help="limit price in reais (LIMIT, STOP_LIMIT)")
        sp.add_argument("--type", choices=sorted(ORDER_TYPES), help="default: limit with --price, else market")
        sp.add_argument("--stop", help="stop (trigger) price in reais (STOP, STOP_LIMIT)")
        sp.add_argument("--tif", choices=sorted(TIFS), default="day", help="time in force (default day)")
        sp.add_argument("--display", type=int, help="iceberg: shares shown on the book")
        sp.add_argument("--min-qty", type=int, help="minimum quantity to execute")
        sp.add_argument("--expire", help="YYYY-MM-DD (implies --tif gtd)")
        sp.add_argument("--stp", choices=[s.value for s in SelfTradePrevention], help="self-trade prevention")
        sp.add_argument("--client-order-id", help="idempotency key: the same id and body give the same order")
        sp.add_argument("--wait", type=float, default=5.0, metavar="S",
                        help="wait up to S seconds for the exchange's answer (0: do not wait; default 5)")
    sp = add("cancel", cmd_cancel, "cancel an open order")
    sp.add_argument("order_id")
    sp = add("replace", cmd_replace, "change an open order's quantity (new total) and/or price")
    sp.add_argument("order_id")
    sp.add_argument("--quantity", type=int)
    sp.add_argument("--price")
    sp = add("orders", cmd_orders, "your orders, newest first")
    sp.add_argument("--status", choices=[s.value for s in OrderStatus])
    sp.add_argument("--open", action="store_true", help="only open orders (PENDING_NEW, NEW, PARTIALLY_FILLED)")
    sp.add_argument("--ticker")
    sp.add_argument("--date", help="trade date YYYY-MM-DD")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--offset", type=int, default=0)
    sp = add("order", cmd_order, "one order with its fills")
    sp.add_argument("order_id")
    sp = add("fills", cmd_fills, "an order's fills")
    sp.add_argument("order_id")
    add("positions", cmd_positions, "your holdings, with the last price and P&L")
    sp = add("statement", cmd_statement, "your ledger postings, newest first")
    sp.add_argument("--from", dest="start", help="YYYY-MM-DD (Brasília)")
    sp.add_argument("--to", dest="end", help="YYYY-MM-DD (Brasília), inclusive")
    sp.add_argument("--asset", help="BRL or a ticker")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--cursor", type=int)

    sp = add("note", cmd_note, "the brokerage note (nota de corretagem) of a trading day")
    sp.add_argument("date", help="trade date YYYY-MM-DD")
    sp.add_argument("--pdf", metavar="FILE", help="save the note as a PDF instead")
    sp = add("tax", cmd_tax, "the month's income tax: gains per category, exemption, losses, IRRF, DARF 6015")
    sp.add_argument("month", help="YYYY-MM")
    sp = add("year-end", cmd_year_end, "custody on 31 December at average cost, for the yearly declaration")
    sp.add_argument("year", type=int)

    sp = add("watch", cmd_watch, "live quote, book and your open orders of tickers until Ctrl-C")
    sp.add_argument("tickers", nargs="+", metavar="TICKER")
    sp.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    sp.add_argument("--once", action="store_true", help="render once and exit (scripts, tests)")

    sp = add("simulate-day", cmd_simulate_day,
             "local stack only: run a full B3 session on the simulated clock with new users, then reconcile")
    sp.add_argument("--users", type=int, default=4)
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--tickers", default="PETR4,VALE3", help="comma-separated")
    sp.add_argument("--orders", type=int, default=3, help="orders per user in continuous trading")
    sp.add_argument("--steps", type=int, default=6, help="clock steps through continuous trading")
    target_opts(sp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for usage errors
        return int(exc.code or 0)
    args.json = getattr(args, "json", False)
    args.profile = getattr(args, "profile", None) or os.environ.get("MYBROKER_PROFILE") or "default"
    ctx = Ctx(args)
    fn: Callable[[Ctx], int] = args.fn
    try:
        return fn(ctx)
    except ApiError as exc:
        code = UNAVAILABLE if exc.unavailable else AUTH if exc.status == 401 else REFUSED
        return _fail(ctx, code, exc.as_dict())
    except AuthError as exc:
        code = UNAVAILABLE if exc.code == "UNAVAILABLE" else AUTH
        return _fail(ctx, code, {"code": exc.code, "message": exc.message})
    except (UsageError, ConfigError, ValidationError, ValueError) as exc:
        return _fail(ctx, USAGE, {"code": "USAGE", "message": str(exc)})
    except KeyboardInterrupt:
        return 130


def _fail(ctx: Ctx, code: int, err: dict[str, Any]) -> int:
    if ctx.json:
        print(json.dumps({"error": err, "exitCode": code}), file=sys.stderr)
    else:
        render.console(stderr=True).print(f"[red]error[/red] {err.get('code')}: {err.get('message')}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
