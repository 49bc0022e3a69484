"""A new user's first session through the ``mybroker`` CLI, against the local stack in continuous trading."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from mybroker_client import cli
from tests.e2e.client.conftest import Runner

pytestmark = pytest.mark.stack
PASSWORD = "Cli-pass-12345"


def _reference(run: Runner, ticker: str) -> int:
    quotes = run.json("quote", ticker)["quotes"]
    assert quotes, f"no quote for {ticker}"
    ref: int = quotes[0]["referenceCents"]
    return ref


def _wait_wallet(run: Runner, ok: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        w: dict[str, Any] = run.json("wallet")
        if ok(w) or time.monotonic() > deadline:
            return w
        time.sleep(0.3)


def test_a_new_user_trades(run: Runner, email: str) -> None:
    assert run("signup", email, "--password", PASSWORD)[0] == cli.OK
    assert run.json("whoami")["username"] == email
    assert run.json("deposit", "100000")["wallet"]["availableCents"] == 10_000_000
    ref = _reference(run, "PETR4")

    # a marketable limit (5% over the reference) crosses the liquidity agents' asks and fills
    buy = run.json("buy", "PETR4", "100", "--price", f"{ref * 105 // 100 / 100:.2f}", "--wait", "10")
    assert buy["status"] in ("FILLED", "PARTIALLY_FILLED"), buy
    fills = run.json("fills", buy["orderId"])
    assert sum(f["quantity"] for f in fills) == buy["cumQuantity"] > 0
    # the wallet applies the fill asynchronously (Kafka): payable = value + fees
    cost = sum(f["quantity"] * f["priceCents"] + f["feesCents"] for f in fills)
    w = _wait_wallet(run, lambda w: w["payableCents"] == cost)
    assert w["payableCents"] == cost and w["availableCents"] + w["reservedCents"] == 10_000_000 - cost
    pos = {p["ticker"]: p for p in run.json("positions")["items"]}
    assert pos["PETR4"]["totalQuantity"] == buy["cumQuantity"]

    # bought shares settle at T+2, but B3 nets a day's trades: they can be sold the same day (a day trade),
    # and not one share more than was bought
    code, _, err = run("sell", "PETR4", str(buy["cumQuantity"] + 100), "--price", f"{ref * 103 // 100 / 100:.2f}")
    assert code == cli.REFUSED and "INSUFFICIENT_POSITION" in err
    day_trade = run.json("sell", "PETR4", "100", "--price", f"{ref * 103 // 100 / 100:.2f}")
    assert day_trade["status"] in ("NEW", "PENDING_NEW", "PARTIALLY_FILLED", "FILLED"), day_trade
    if day_trade["status"] in ("NEW", "PENDING_NEW"):
        time.sleep(0.5)
        assert run("cancel", day_trade["orderId"])[0] == cli.OK

    # a resting limit far from the market: replace, then cancel
    rest = run.json("buy", "PETR4", "100", "--price", f"{ref * 97 // 100 / 100:.2f}")
    assert rest["status"] in ("NEW", "PENDING_NEW")
    assert run.json("replace", rest["orderId"], "--price", f"{ref * 96 // 100 / 100:.2f}")["orderId"] == \
        rest["orderId"]
    time.sleep(0.5)
    assert run("cancel", rest["orderId"])[0] == cli.OK
    orders = run.json("orders", "--ticker", "PETR4")
    assert {buy["orderId"], rest["orderId"]} <= {o["orderId"] for o in orders["items"]}

    statement = run.json("statement")["items"]
    kinds = {x["kind"] for x in statement}
    assert {"deposit", "reserve", "fill"} <= kinds
    code, out, _ = run("statement")
    assert code == 0 and "deposit" in out

    code, out, _ = run("watch", "PETR4", "--once")
    assert code == 0 and "PETR4" in out and "Book (L2)" in out
    book = run.json("book", "PETR4")
    assert book["ticker"] == "PETR4" and book["book"]["phase"] == "CONTINUOUS"

    # after the trade: the day's brokerage note carries the buy and exactly the fees the fills paid
    day = buy["tradeDate"]
    note = run.json("note", day)
    bought = [t for t in note["trades"] if t["side"] == "C" and t["ticker"] == "PETR4"]
    assert sum(t["quantity"] for t in bought) >= buy["cumQuantity"]
    assert note["feesCents"] >= sum(f["feesCents"] for f in fills) > 0
    code, out, _ = run("note", day)
    assert code == 0 and "Nota de corretagem" in out and "líquido para" in out
    code, out, _ = run("note", day, "--pdf", str(Path(tempfile.mkdtemp()) / "note.pdf"))
    assert code == 0 and "saved" in out
    saved = Path(out.split("saved ", 1)[1].split(" (", 1)[0])
    assert saved.read_bytes().startswith(b"%PDF-")
    tax = run.json("tax", day[:7])
    assert tax["month"] == day[:7] and tax["darfCode"] == "6015"
    code, out, _ = run("tax", day[:7])
    assert code == 0 and "DARF 6015" in out
    year_end = run.json("year-end", day[:4])
    assert year_end["asOf"] == f"{day[:4]}-12-31"
    assert run("note", "2026-02-30")[0] == cli.USAGE
    assert run("tax", "2026-13")[0] == cli.REFUSED
    assert book["book"]["bids"] and book["book"]["asks"]  # the liquidity agents quote both sides

    assert run.json("withdraw", "10")["amountCents"] == 1000


def test_errors_give_the_documented_exit_codes(run: Runner, email: str) -> None:
    code, _, err = run("--json", "withdraw", "999999999")
    assert code == cli.REFUSED and "INSUFFICIENT_FUNDS" in err
    assert run("quote", "ZZZZ3")[0] == cli.REFUSED  # no quote for it
    assert run("order", "no-such-order")[0] == cli.REFUSED
    assert run("buy", "PETR4", "150", "--price", "10")[0] == cli.REFUSED  # not a round lot / out of band
    assert run("buy", "PETR4")[0] == cli.USAGE
    assert run("login", email, "--password", "wrong-Password-1")[0] == cli.AUTH
    assert run("login", email, "--password", PASSWORD)[0] == cli.OK
    assert run("logout")[0] == cli.OK
    assert run("wallet")[0] == cli.AUTH
