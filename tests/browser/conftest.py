"""Browser tests: the web app (web/, docs/web.md) in headless Chromium, driven by Playwright, against the running
local system. Debian's Chromium is used (Playwright's own browser download cannot be reached here): installed
through apt when missing, as the runtime installs its services. ``MYBROKER_WEB_SHOTS=docs/web`` saves the
screenshots docs/web.md shows (by default they go to a temporary folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

from local_runtime import services as svc
from local_runtime.web import build_web_app
from tests.fixtures.users import API

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)

expect.set_options(timeout=20_000)  # live updates arrive in well under a second; this bounds a broken one


def chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    svc.apt_install(("chromium",), "chromium (browser tests)")
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("apt installed chromium but it is not on PATH")
    return found


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("MYBROKER_WEB_SHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("web-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def web_app(local_state: dict[str, str]) -> str:
    """The app, built if its sources changed since the last build (the runtime serves web/dist as it is)."""
    build_web_app()
    return API


@pytest.fixture(scope="session")
def browser(web_app: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(),
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=pt-BR"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def trading_session(local_state: dict[str, str]) -> None:
    from tests.fixtures.session import open_trading_session

    open_trading_session()


def new_context(browser: Browser, viewport: ViewportSize = DESKTOP) -> BrowserContext:
    context = browser.new_context(viewport=viewport, locale="pt-BR", timezone_id="America/Sao_Paulo",
                                  base_url=API, accept_downloads=True)
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    pg = context.new_page()
    yield pg
    context.close()
