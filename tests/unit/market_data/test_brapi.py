"""brapi provider against a loopback stand-in: batching, partial results, retries, 429, timeouts, 4xx."""

from __future__ import annotations

from datetime import UTC, datetime

from mybroker.market_data.brapi import BrapiProvider, parse_result

from tests.unit.market_data.brapi_stub import Reply, brapi_stub, quotes_body, result

NOW = datetime(2025, 11, 17, 14, 0, 30, tzinfo=UTC)
TEN = ["PETR4", "VALE3", "ITUB4", "BBDC4", "BBAS3", "ABEV3", "WEGE3", "B3SA3", "BOVA11", "HGLG11"]


class Sleeper:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


def provider(url: str, sleeper: Sleeper | None = None, **kw: object) -> BrapiProvider:
    return BrapiProvider(base_url=url, token="secret-token", sleep=sleeper or Sleeper(), **kw)  # type: ignore[arg-type]


def test_several_tickers_per_request_with_bearer_token() -> None:
    with brapi_stub() as stub:
        r = provider(stub.base_url, batch_size=4).fetch(TEN, NOW)
    assert len(stub.requests) == 3 and r.requests == 3
    assert stub.requests[0][0] == "/api/quote/PETR4,VALE3,ITUB4,BBDC4"
    assert stub.requests[0][1]["authorization"] == "Bearer secret-token"
    assert "token" not in stub.requests[0][0]
    assert [q.ticker for q in r.quotes] == TEN and not r.failed
    petr = r.quotes[0]
    assert petr.last_cents == 3812 and petr.prev_close_cents == 3802 and petr.day_volume == 1234500
    assert petr.ts == datetime(2025, 11, 17, 14, 0, tzinfo=UTC)


def test_partial_results_and_bad_records() -> None:
    def script(symbols: list[str], n: int) -> Reply:
        body = quotes_body(["PETR4"])
        body["results"].append({**result("VALE3"), "regularMarketPrice": None})
        body["results"].append("garbage")
        return Reply(body=body)

    with brapi_stub(script) as stub:
        r = provider(stub.base_url).fetch(["PETR4", "VALE3", "ITUB4"], NOW)
    assert [q.ticker for q in r.quotes] == ["PETR4"]
    assert "no regularMarketPrice" in r.failed["VALE3"] and r.failed["ITUB4"] == "missing from the response"


def test_server_errors_are_retried_with_backoff() -> None:
    sleeper = Sleeper()
    with brapi_stub(lambda s, n: Reply(status=502, body={"error": True, "message": "bad gateway"}) if n < 3
                    else Reply()) as stub:
        r = provider(stub.base_url, sleeper, max_attempts=3, backoff_s=0.5).fetch(["PETR4"], NOW)
    assert [q.ticker for q in r.quotes] == ["PETR4"] and r.retries == 2 and r.requests == 3
    assert sleeper.calls == [0.5, 1.0]


def test_gives_up_after_max_attempts_and_reports() -> None:
    with brapi_stub(lambda s, n: Reply(status=500, body=b"<html>oops</html>")) as stub:
        r = provider(stub.base_url, max_attempts=2).fetch(["PETR4", "VALE3"], NOW)
    assert not r.quotes and set(r.failed) == {"PETR4", "VALE3"} and "HTTP 500" in r.failed["PETR4"]
    assert len(stub.requests) == 2


def test_rate_limit_honours_retry_after() -> None:
    sleeper = Sleeper()
    with brapi_stub(lambda s, n: Reply(status=429, headers={"Retry-After": "7"},
                                       body={"error": True, "message": "Too many requests"}) if n == 1
                    else Reply()) as stub:
        r = provider(stub.base_url, sleeper).fetch(["PETR4"], NOW)
    assert sleeper.calls == [7.0] and len(r.quotes) == 1


def test_rate_limit_beyond_the_budget_gives_up() -> None:
    sleeper = Sleeper()
    with brapi_stub(lambda s, n: Reply(status=429, headers={"Retry-After": "3600"})) as stub:
        r = provider(stub.base_url, sleeper, budget_s=20).fetch(["PETR4"], NOW)
    assert sleeper.calls == [] and "429" in r.failed["PETR4"] and len(stub.requests) == 1


def test_client_errors_are_not_retried() -> None:
    with brapi_stub(lambda s, n: Reply(status=401, body={"error": True, "message": "invalid token"})) as stub:
        r = provider(stub.base_url).fetch(["PETR4"], NOW)
    assert r.failed["PETR4"] == "HTTP 401: invalid token" and len(stub.requests) == 1


def test_timeouts_are_retried_then_reported() -> None:
    with brapi_stub(lambda s, n: Reply(delay_s=0.5)) as stub:
        r = provider(stub.base_url, timeout_s=0.1, max_attempts=2, backoff_s=0.01).fetch(["PETR4"], NOW)
    assert not r.quotes and "timeout" in r.failed["PETR4"] and r.retries == 1


def test_provider_down_is_reported_not_raised() -> None:
    with brapi_stub() as stub:
        url = stub.base_url
    r = provider(url, max_attempts=2, backoff_s=0.01).fetch(["PETR4"], NOW)  # server gone: connection refused
    assert "connection" in r.failed["PETR4"]


def test_parse_result_handles_epoch_times_and_missing_fields() -> None:
    q = parse_result({"symbol": "petr4", "regularMarketPrice": 38.125, "regularMarketTime": 1763388000}, NOW)
    assert q.ticker == "PETR4" and q.last_cents == 3813 and q.ts == datetime.fromtimestamp(1763388000, UTC)
    assert q.day_volume is None and q.open_cents is None
