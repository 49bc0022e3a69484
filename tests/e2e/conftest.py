"""End-to-end tests run against the local system as a client would, during a B3 trading session.

The session is made, not waited for: the system's clock (shared by the scheduler, the functions and the
engine through Redis) is moved forward to a business day at 11:00 in São Paulo unless continuous trading
is already on for a while; quotes are ingested and the engine's books are open before each test module
(a module such as the simulated day moves the clock itself, past the close). The clock only ever moves
forward (the engine ignores time going back), and stays where it was put.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

API = "http://127.0.0.1:3000"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _post(path: str, body: dict[str, object]) -> dict[str, object]:
    req = urllib.request.Request(API + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        answer: dict[str, object] = json.loads(r.read() or b"{}")
        return answer


def next_session_instant(now: datetime) -> datetime | None:
    """None if continuous trading is on now with at least 90 minutes left, else the next 11:00 (São
    Paulo) on a B3 business day after ``now``."""
    from mybroker.b3.calendar import is_business_day
    from mybroker.b3.session import Phase, next_change, phase_at

    if phase_at(now) is Phase.CONTINUOUS and next_change(now)[0] - now > timedelta(minutes=90):
        return None
    day = now.astimezone(SAO_PAULO).date()
    while True:
        candidate = datetime(day.year, day.month, day.day, 11, 0, tzinfo=SAO_PAULO)
        if candidate > now and is_business_day(day):
            return candidate
        day += timedelta(days=1)


@pytest.fixture(scope="module", autouse=True)
def trading_session(local_state: dict[str, str]) -> datetime:
    import redis
    from mybroker.clock import SystemClock
    from mybroker.contracts.exchange import BOOK_KEY
    from mybroker.market_data.cache import QuoteCache

    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    now = SystemClock(r).now()
    target = next_session_instant(now)
    if target is not None:
        _post("/_local/clock", {"set": target.isoformat()})
    _post("/_local/schedules/quote-ingestion/fire", {})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = r.get(BOOK_KEY.format(instrument="PETR4"))
        phase = json.loads(raw)["phase"] if raw else None
        if QuoteCache(r).reference_price_cents("PETR4") and phase == "CONTINUOUS":
            return SystemClock(r).now()
        if phase == "VOLATILITY_AUCTION":
            # an earlier test printed outside the auction tunnel: let the (5 minute) auction run its course
            _post("/_local/clock", {"advance_s": 6 * 60})
        time.sleep(0.25)
    pytest.fail(f"the engine's PETR4 book did not open for continuous trading (phase {phase}); "
                "see var/logs/engine.log and var/logs/runtime.log", pytrace=False)
