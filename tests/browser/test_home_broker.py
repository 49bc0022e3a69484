"""The home broker in headless Chromium against the running local system (docs/web.md): sign up, deposit, see a
quote, a marketable order filling and the wallet moving without a reload, a resting order marked in the book,
replaced and canceled, rejections in words (PT and EN), and a second user who never sees the first one's orders.

Every wait is one of Playwright's auto-waiting expectations (no sleeps); users, emails and prices are fresh."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, new_context
from tests.fixtures.users import User, new_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("trading_session")]

TICKER = "PETR4"
PASSWORD = "Web-pass-1234!"
BRL = re.compile(r"R\$\s\d{1,3}(\.\d{3})*,\d{2}")  # R$ 1.234,56


def money(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"R$ {whole:,}".replace(",", ".") + f",{frac:02d}"


def sign_up(page: Page, shots: Path | None = None) -> str:
    email = f"web-{uuid.uuid4().hex[:10]}@test.mybroker.local"
    page.goto("/")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    if shots:
        page.screenshot(path=shots / "login.png")
    page.get_by_test_id("auth-switch").click()
    form = page.get_by_test_id("signup-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Senha").fill(PASSWORD)
    if shots:
        page.screenshot(path=shots / "signup.png")
    form.get_by_role("button", name="Criar conta").click()
    confirm = page.get_by_test_id("confirm-form")
    expect(confirm).to_be_visible()  # the local Cognito, like AWS, wants the emailed code (any code locally)
    confirm.get_by_label("Código de confirmação").fill("123456")
    confirm.get_by_role("button", name="Confirmar").click()
    expect(page.get_by_test_id("user-email")).to_have_text(email)
    return email


def log_in(page: Page, user: User) -> None:
    page.goto("/")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(user.email)
    form.get_by_label("Senha").fill(user.password)
    form.get_by_role("button", name="Entrar").click()
    expect(page.get_by_test_id("user-email")).to_have_text(user.email)


def deposit(page: Page, cents: int) -> None:
    page.get_by_test_id("nav-wallet").click()
    page.get_by_label("Valor").fill(money(cents).removeprefix("R$ "))
    page.get_by_test_id("pix-deposit").click()
    expect(page.get_by_test_id("pix-message")).to_contain_text(money(cents))
    expect(page.get_by_test_id("wallet-available")).to_have_text(money(cents))


def open_ticker(page: Page, ticker: str = TICKER) -> None:
    page.get_by_test_id("nav-market").click()
    page.get_by_test_id(f"watch-{ticker}").click()
    expect(page.get_by_test_id("quote-last")).to_have_text(BRL)
    expect(page.get_by_test_id("live-mode")).to_contain_text("ao vivo")  # the WebSocket API, not polling


def ticket_order(page: Page, side: str, quantity: int, price_cents: int | None, order_type: str = "LIMIT",
                 tif: str = "DAY") -> None:
    ticket = page.get_by_test_id("ticket")
    ticket.get_by_test_id("side-buy" if side == "BUY" else "side-sell").click()
    ticket.locator("select[name=orderType]").select_option(order_type)
    ticket.locator("select[name=timeInForce]").select_option(tif)
    ticket.locator("input[name=quantity]").fill(str(quantity))
    if price_cents is not None:
        ticket.locator("input[name=price]").fill(f"{price_cents // 100},{price_cents % 100:02d}")
    ticket.get_by_test_id("send-order").click()


@pytest.fixture(scope="module")
def reader() -> User:
    """A user of the HTTP API, for what the test must know (the book's prices) but not show."""
    return new_user("web-reader")


def book(reader: User, ticker: str = TICKER) -> dict[str, list[dict[str, int]]]:
    answer = reader.get(f"/market/book/{ticker}")
    assert answer.status == 200, answer.body
    assert answer.body["bids"] and answer.body["asks"], "the liquidity agents quote both sides in a session"
    return dict(answer.body)


def sweep_price(levels: list[dict[str, int]], quantity: int) -> int:
    """The ask price that buys ``quantity`` from the book as it is."""
    total = 0
    for level in levels:
        total += level["quantity"]
        if total >= quantity:
            return level["priceCents"]
    return levels[-1]["priceCents"]


def test_sign_up_deposit_and_a_fill_move_the_wallet_live(browser: Browser, shots: Path, reader: User) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, shots)
        expect(page.get_by_test_id(f"last-{TICKER}")).to_have_text(BRL)  # the watchlist has a quote
        expect(page.get_by_test_id("clock")).not_to_be_empty()
        expect(page.get_by_test_id("phase")).to_have_text("Negociação")
        page.screenshot(path=shots / "market.png")
        deposit(page, 2_000_000)
        open_ticker(page)
        page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
        buying_power = page.get_by_test_id("ticket-buying-power")
        expect(buying_power).to_have_text(money(2_000_000))
        price = sweep_price(book(reader)["asks"], 100) + 2
        ticket_order(page, "BUY", 100, price)
        message = page.get_by_test_id("ticket-message")
        expect(message).to_contain_text("Executada: 100 \u00d7")
        expect(buying_power).not_to_have_text(money(2_000_000))  # the wallet channel moved it
        assert page.evaluate("window.__sameDocument") is True
        page.screenshot(path=shots / "ticker.png", full_page=True)
        page.get_by_test_id("nav-wallet").click()
        expect(page.get_by_test_id(f"pos-qty-{TICKER}")).to_have_text("100")
        expect(page.get_by_test_id("wallet-payable")).not_to_have_text(money(0))  # D+2 settlement ahead
        expect(page.get_by_test_id("projected")).to_contain_text("D+2")
        expect(page.get_by_test_id("statement")).to_contain_text("deposit")
        page.screenshot(path=shots / "wallet.png", full_page=True)
        page.get_by_test_id("nav-orders").click()
        history = page.get_by_test_id("order-history")
        expect(history).to_contain_text("Executada")
        history.get_by_role("button", name="Execuções").first.click()
        expect(history.locator("td.fills")).to_contain_text("R$")
        page.screenshot(path=shots / "orders-history.png", full_page=True)
        page.get_by_test_id("nav-notes").click()
        expect(page.get_by_test_id("note-net")).to_have_text(re.compile(r"^-R\$ \d"))  # a purchase: money out
        expect(page.get_by_test_id("darf")).to_have_text(BRL)
        with page.expect_download() as pdf:
            page.get_by_test_id("note-pdf").click()
        assert pdf.value.suggested_filename.endswith(".pdf")
        page.screenshot(path=shots / "notes.png", full_page=True)
    finally:
        context.close()


def test_resting_order_marked_replaced_and_canceled_never_shown_to_another_user(
        browser: Browser, shots: Path, reader: User) -> None:
    first = new_context(browser)
    second = new_context(browser, PHONE)
    try:
        page = first.new_page()
        sign_up(page)
        deposit(page, 1_000_000)
        open_ticker(page)
        rest = book(reader)["bids"][0]["priceCents"] - 97  # below the best bid: it rests
        ticket_order(page, "BUY", 100, rest)
        expect(page.get_by_test_id("ticket-message")).to_contain_text("Ordem enviada — Aberta")
        expect(page.get_by_test_id("ticket-buying-power")).not_to_have_text(money(1_000_000))  # the hold
        mine = page.get_by_test_id("book").locator(f'tr.mine[data-price="{rest}"]')
        expect(mine).to_contain_text("★ 100")  # the user's own order marked on the ladder
        page.screenshot(path=shots / "book-own-order.png", full_page=True)

        page.get_by_test_id("nav-orders").click()
        open_orders = page.get_by_test_id("open-orders")
        row = open_orders.locator("tr", has_text=money(rest))
        expect(row).to_contain_text("Aberta")
        order_id = row.get_by_role("button", name="Cancelar").get_attribute("data-testid")
        assert order_id is not None
        order_id = order_id.removeprefix("cancel-")
        page.screenshot(path=shots / "orders-open.png", full_page=True)

        # a second user, on a phone-sized screen, never sees the first one's order (the book still shows its level)
        other = new_user("web-other")
        phone = second.new_page()
        log_in(phone, other)
        phone.get_by_test_id("nav-orders").click()
        expect(phone.get_by_test_id("open-orders-empty")).to_be_visible()
        expect(phone.get_by_test_id("order-history")).not_to_contain_text(TICKER)
        phone.screenshot(path=shots / "phone-orders-other-user.png", full_page=True)
        phone.goto(f"/#/ticker/{TICKER}")
        expect(phone.get_by_test_id("book").locator(f'tr[data-price="{rest}"]')).to_be_visible()
        expect(phone.get_by_test_id("book").locator("tr.mine")).to_have_count(0)
        phone.screenshot(path=shots / "phone-ticker.png", full_page=True)

        # replace: a new price, shown without a reload
        new_price = rest - 3
        page.get_by_test_id(f"replace-{order_id}").click()
        form = open_orders.locator(".replace-form")
        form.locator("input[name=replace-price]").fill(f"{new_price // 100},{new_price % 100:02d}")
        form.get_by_test_id("replace-save").click()
        expect(page.get_by_test_id(f"open-price-{order_id}")).to_have_text(money(new_price))
        expect(page.get_by_test_id(f"open-status-{order_id}")).to_have_text("Aberta")

        # cancel: it leaves the open orders and the history says why
        page.get_by_test_id(f"cancel-{order_id}").click()
        expect(page.get_by_test_id("open-orders-empty")).to_be_visible()
        expect(page.get_by_test_id(f"hist-status-{order_id}")).to_have_text("Cancelada")
        expect(page.get_by_test_id(f"hist-reason-{order_id}")).to_have_text("Cancelada por você.")

        phone.get_by_test_id("nav-orders").click()
        expect(phone.get_by_test_id("open-orders-empty")).to_be_visible()
        expect(phone.get_by_test_id(f"hist-status-{order_id}")).to_have_count(0)
    finally:
        first.close()
        second.close()


def test_rejections_are_shown_in_words_in_portuguese_and_english(page: Page, shots: Path, reader: User) -> None:
    sign_up(page)
    open_ticker(page)
    bid = book(reader)["bids"][0]["priceCents"]
    ticket_order(page, "BUY", 100, bid)  # no cash yet
    message = page.get_by_test_id("ticket-message")
    expect(message).to_have_text("Saldo insuficiente para esta ordem.")
    ticket_order(page, "BUY", 150, bid)  # not a round lot
    expect(message).to_have_text("Quantidade fora do lote padrão (use o fracionário, ex.: PETR4F).")
    page.screenshot(path=shots / "ticket-rejection.png", full_page=True)
    page.get_by_test_id("lang-toggle").click()
    expect(page.get_by_test_id("nav-wallet")).to_have_text("Wallet")
    ticket_order(page, "SELL", 100, bid)  # no shares to sell
    expect(message).to_have_text("You do not hold enough shares to sell.")
    page.get_by_test_id("lang-toggle").click()
    expect(page.get_by_test_id("nav-wallet")).to_have_text("Carteira")


def test_without_the_streaming_api_the_app_polls_and_still_updates(browser: Browser, reader: User) -> None:
    """web/src/live.ts falls back to polling the HTTP API when the WebSocket handshake fails."""
    context = new_context(browser)
    context.route_web_socket(re.compile(r".*/live.*"), lambda ws: ws.close())  # every handshake refused
    page = context.new_page()
    try:
        sign_up(page)
        expect(page.get_by_test_id("live-mode")).to_contain_text("atualização periódica")
        deposit(page, 1_000_000)
        page.get_by_test_id("nav-market").click()
        page.get_by_test_id(f"watch-{TICKER}").click()
        expect(page.get_by_test_id("quote-last")).to_have_text(BRL)
        expect(page.get_by_test_id("book").locator("tr.bid").first).to_be_visible()
        buying_power = page.get_by_test_id("ticket-buying-power")
        expect(buying_power).to_have_text(money(1_000_000))
        ticket_order(page, "BUY", 100, sweep_price(book(reader)["asks"], 100) + 2)
        expect(page.get_by_test_id("ticket-message")).to_contain_text("Executada: 100 \u00d7")
        expect(buying_power).not_to_have_text(money(1_000_000))
    finally:
        context.close()
