"""Several trading sessions of several users through the whole system, then what the broker hands them: every
brokerage note's fees equal the ledger's fee postings, the notes' nets add up to the cash the users end with,
the PDF shows the note's totals, and the monthly tax report and year-end positions match figures computed
here from the fills by the rules (not by calling the code under test)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from mybroker.b3.calendar import is_business_day, settlement_date
from mybroker.clock import SystemClock
from mybroker.market_data.cache import QuoteCache
from sqlalchemy import bindparam, create_engine, text

from local_runtime import services as svc
from tests.e2e.wallet.test_day_trade_e2e import settle, until
from tests.fixtures.session import SAO_PAULO, next_session_instant, open_trading_session
from tests.fixtures.users import User, new_user

pytestmark = pytest.mark.stack
DEPOSIT = 2_000_000  # R$20,000.00 each
SESSIONS = 4  # trading days of one month
AGENT_REFRESH_S = 5.5  # the liquidity agents quote anew every 5 s (engine_service/agents.py)


def next_session_after_today() -> datetime:
    now = SystemClock(redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0")).now()
    midnight = datetime.combine(now.astimezone(SAO_PAULO).date() + timedelta(days=1), datetime.min.time(),
                                SAO_PAULO)
    target = next_session_instant(midnight)
    assert target is not None
    return target


def next_session() -> None:
    """The clock to one hour into the next business day's continuous session (the engine follows)."""
    open_trading_session(at=next_session_after_today())


def sessions_in_one_month(n: int) -> None:
    """The session is one followed by ``n - 1`` more business days in the same month (so in the same year): today's
    if at least ``n`` business days follow it this month (today's may be over), else the next month's first."""
    now = SystemClock(redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0")).now().astimezone(SAO_PAULO)
    day, left = now.date() + timedelta(days=1), 0
    while day.month == now.month:
        left += is_business_day(day)
        day += timedelta(days=1)
    if left < n:  # day is now the 1st of the next month
        open_trading_session(at=next_session_instant(datetime.combine(day, datetime.min.time(), SAO_PAULO)))
    else:
        open_trading_session()


def prices() -> tuple[int, int]:
    ref = QuoteCache(redis.Redis.from_url(f"redis://127.0.0.1:{svc.REDIS_PORT}/0")).reference_price_cents("PETR4")
    assert ref is not None
    return ref * 104 // 100, ref * 96 // 100  # marketable against the agents' asks / bids, inside the tunnel


def fok(u: User, side: str, attempts: int = 4) -> dict[str, Any]:
    """A fill-or-kill limit for 100 PETR4 marketable against the agents, followed to its final state, which must
    be FILLED. Another trader may have just taken the agents' side of the book: a FOK that finds it too thin is
    rejected whole (nothing moves), so it is sent again once the agents have quoted anew (every 5 s)."""
    for _ in range(attempts):
        up, down = prices()
        r = u.post("/orders", {"ticker": "PETR4", "side": side, "orderType": "LIMIT", "timeInForce": "FOK",
                               "quantity": 100, "priceCents": up if side == "BUY" else down})
        assert r.status in (200, 201, 202), r.body
        final: dict[str, Any] = until(lambda: u.get(f"/orders/{r.body['orderId']}").body,  # noqa: B023
                                      lambda o: o["status"] in ("FILLED", "CANCELED", "REJECTED"))
        if final["status"] == "FILLED" or final.get("reason") != "FOK_NOT_FILLABLE":
            break
        time.sleep(AGENT_REFRESH_S)
    assert final["status"] == "FILLED", json.dumps(final)
    return final


def fills(order: dict[str, Any]) -> tuple[int, int, int]:
    """(quantity, value, fees) of an order's fills."""
    fs = order["fills"]
    return (sum(f["quantity"] for f in fs), sum(f["quantity"] * f["priceCents"] for f in fs),
            sum(f["feesCents"] for f in fs))


def ledger_fees(account_id: str, order_ids: list[str]) -> int:
    """What the ledger credited B3's fee account for these orders (sales at the fill, buys at settlement)."""
    eng = create_engine(svc.mysql_url("wallet"))
    with eng.connect() as c:
        got = c.execute(text(
            "SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN journal_entries e ON p.entry_id = e.id "
            "WHERE e.account_id = :acc AND p.account_id = 'system:b3-fees' AND e.ref IN :refs"
        ).bindparams(bindparam("refs", expanding=True)), {"acc": account_id, "refs": order_ids}).scalar()
    eng.dispose()
    return int(got or 0)


def half_up(amount: int, percent: int) -> int:
    return (amount * percent + 50) // 100 if amount > 0 else 0


def test_notes_ledger_and_tax_reconcile_over_several_sessions() -> None:
    sessions_in_one_month(SESSIONS)
    day_trader, swing, both = new_user("dt"), new_user("swing"), new_user("both")
    users = (day_trader, swing, both)
    for u in users:
        assert u.post("/wallet/deposits", {"amountCents": DEPOSIT, "idempotencyKey": "seed"}).status == 201
    orders: dict[str, dict[date, list[dict[str, Any]]]] = {u.user_id: defaultdict(list) for u in users}

    def trade(u: User, side: str) -> dict[str, Any]:
        o = fok(u, side)
        d = date.fromisoformat(o["tradeDate"])
        orders[u.user_id][d].append(o)

        def in_wallet(body: dict[str, Any]) -> bool:  # the fill reached the wallet (Kafka, asynchronous)
            return bool(sum(t["quantity"] for t in body["items"] if t["orderId"] == o["orderId"]) == 100)

        trades = until(lambda: u.get(f"/wallet/trades?from={d}&to={d}").body, in_wallet, timeout=60)
        assert in_wallet(trades), json.dumps(o)
        return o

    # session 1: a day trade; a swing buy of 200; a buy of 100 and a day trade of 100 more
    for side in ("BUY", "SELL"):
        trade(day_trader, side)
    trade(swing, "BUY")
    trade(swing, "BUY")
    trade(both, "BUY")
    trade(both, "BUY")
    trade(both, "SELL")
    first_day = max(orders[swing.user_id])
    # session 2: another day trade; the others sell 100 of what they hold (swing sales)
    next_session()
    for side in ("BUY", "SELL"):
        trade(day_trader, side)
    trade(swing, "SELL")
    trade(both, "SELL")
    # sessions 3 and 4: a day trade each; "both" buys 100 and sells them the next day
    for extra in range(SESSIONS - 2):
        next_session()
        for side in ("BUY", "SELL"):
            trade(day_trader, side)
        trade(both, "BUY" if extra % 2 == 0 else "SELL")
    days = sorted({d for per in orders.values() for d in per})
    assert len(days) == SESSIONS and days[0] == first_day and {d.month for d in days} == {first_day.month}, days

    for d in days:  # each day's settlement, in order (the runs are idempotent)
        settle(settlement_date(d))

    for u in users:
        w = until(lambda: u.get("/wallet").body,  # noqa: B023 (called at once)
                  lambda w: w["payableCents"] == 0 and w["receivableCents"] == 0)
        nets, bought, sold = 0, 0, 0
        for d, os_ in orders[u.user_id].items():
            r = u.get(f"/wallet/notes?date={d.isoformat()}")
            assert r.status == 200, r.body
            note = r.body
            # fees: the note's are the fills' and the ledger's, to the cent
            assert note["feesCents"] == sum(fills(o)[2] for o in os_)
            assert note["feesCents"] == ledger_fees(u.user_id, [o["orderId"] for o in os_])
            assert note["settlementFeeCents"] + note["tradingFeeCents"] + note["brokerageCents"] == note["feesCents"]
            buys = [fills(o) for o in os_ if o["side"] == "BUY"]
            sells = [fills(o) for o in os_ if o["side"] == "SELL"]
            assert note["purchasesCents"] == sum(v for _, v, _ in buys)
            assert note["salesCents"] == sum(v for _, v, _ in sells)
            assert note["settleDate"] == settlement_date(d).isoformat()
            assert {t["ticker"] for t in note["trades"]} == {"PETR4"}
            nets += note["netCents"]
            bought += sum(q for q, _, _ in buys)
            sold += sum(q for q, _, _ in sells)
        # the notes' nets are every movement of the users' cash after the deposit (IRRF included)
        assert w["availableCents"] == DEPOSIT + nets, (u.email, w, nets)
        pos = [p for p in u.get("/wallet/positions").body["items"] if p["ticker"] == "PETR4"]
        assert (pos[0]["totalQuantity"] if pos else 0) == bought - sold

    # the day trader's tax: two day trades of 100, each result = (sale - its fees) - (buy + its fees)
    results = []
    for os_ in orders[day_trader.user_id].values():
        (bq, bv, bf), (sq, sv, sf) = (fills(o) for o in sorted(os_, key=lambda o: o["side"]))  # BUY < SELL
        assert bq == sq == 100
        results.append((sv - sf) - (bv + bf))
    month = first_day.strftime("%Y-%m")
    r = day_trader.get(f"/wallet/tax/{month}")
    assert r.status == 200, r.body
    tax = r.body
    (dt_pool,) = [p for p in tax["pools"] if p["pool"] == "DAY_TRADE"]
    net = sum(results)
    assert dt_pool["gainsCents"] == sum(x for x in results if x > 0)
    assert dt_pool["lossesCents"] == -sum(x for x in results if x < 0)
    assert dt_pool["taxCents"] == half_up(net, 20)
    assert dt_pool["lossCarriedOutCents"] == max(0, -net)
    # IRRF: 1 % of each day's positive day-trade result, none under R$1.00; deducted up to the tax
    irrf = sum(v for v in (half_up(x, 1) for x in results) if v >= 100)
    assert tax["irrfWithheldCents"] == irrf and tax["irrfPendingCents"] == 0
    assert tax["irrfDeductedCents"] == min(tax["taxCents"], irrf + tax["irrfCarriedInCents"])
    assert tax["darfCode"] == "6015"
    due = date.fromisoformat(tax["dueDate"])
    assert (due.month - first_day.month) % 12 == 1 and is_business_day(due)
    owed = tax["taxCents"] - tax["irrfDeductedCents"] + tax["darfCarriedInCents"]
    assert (tax["darfCents"], tax["darfCarriedOutCents"]) == ((owed, 0) if owed >= 1_000 else (0, owed))

    # the swing trader: 200 bought on day 1, 100 sold on day 2: the year-end keeps 100 at half the cost
    (b1, b2) = orders[swing.user_id][days[0]]
    cost = sum(fills(o)[1] + fills(o)[2] for o in (b1, b2))
    r = swing.get(f"/wallet/tax/year-end/{days[0].year}")
    assert r.status == 200, r.body
    (petr4,) = [p for p in r.body["items"] if p["ticker"] == "PETR4"]
    assert (petr4["quantity"], petr4["costCents"], petr4["kind"]) == (100, cost - cost * 100 // 200, "STOCK")
    # its swing sale is within the R$20,000 exemption: no tax on it
    r = swing.get(f"/wallet/tax/{month}")
    assert r.body["exempt"] is True and r.body["taxCents"] == 0


def test_the_note_as_pdf_shows_its_totals(tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None or shutil.which("tesseract") is None:
        svc.apt_install(("poppler-utils", "tesseract-ocr"), "PDF tools and OCR for the note test")
    u = new_user("pdf")
    assert u.post("/wallet/deposits", {"amountCents": DEPOSIT, "idempotencyKey": "seed"}).status == 201
    buy = fok(u, "BUY")
    fok(u, "SELL")
    d = buy["tradeDate"]
    note = u.get(f"/wallet/notes?date={d}").body
    req = urllib.request.Request(f"{u.base_url}/wallet/notes/{d}/pdf", headers={"Authorization": f"Bearer {u.token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.headers["Content-Type"] == "application/pdf"
        body = r.read()
    assert body.startswith(b"%PDF"), body[:40]
    pdf = tmp_path / "note.pdf"
    pdf.write_bytes(body)
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout

    def brl(cents: int) -> str:
        whole, frac = divmod(abs(cents), 100)
        return f"{whole:,}".replace(",", ".") + f",{frac:02d}"

    settle_day = date.fromisoformat(note["settleDate"]).strftime("%d/%m/%Y")
    assert "NOTA DE CORRETAGEM" in words
    assert f"Líquido para {settle_day}" in words
    assert f"{brl(note['netCents'])} {'C' if note['netCents'] >= 0 else 'D'}" in words
    assert brl(note["totalTradedCents"]) in words and brl(note["settlementFeeCents"]) in words
    # the page as an image shows the same totals: rendered to PNG and read back by OCR
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), f"{out}/page"], check=True)
        seen = subprocess.run(["tesseract", f"{out}/page.png", "-"], check=True, capture_output=True,
                              text=True).stdout
    figures = set(re.findall(r"\d{1,3}(?:\.\d{3})*,\d{2}", seen))
    for cents in (note["netCents"], note["totalTradedCents"], note["settlementFeeCents"], note["salesCents"],
                  note["purchasesCents"], note["clearingTotalCents"]):
        assert brl(cents) in figures, (brl(cents), sorted(figures))
    assert u.get("/wallet/notes?date=2001-01-02").status == 404
    assert u.get("/wallet/tax/2026-13").status == 422
