"""End-to-end tests run against the local system as a client would, during a B3 trading session.

Before each test module (a module such as the simulated day moves the clock itself, past the close), the
shared clock is moved into a session and the engine's book must be open: tests/fixtures/session.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.fixtures.session import SessionNotOpen, open_trading_session


@pytest.fixture(scope="module", autouse=True)
def trading_session(local_state: dict[str, str]) -> datetime:
    try:
        return open_trading_session()
    except SessionNotOpen as exc:
        pytest.fail(str(exc), pytrace=False)
