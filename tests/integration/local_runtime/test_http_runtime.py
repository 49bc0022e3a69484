"""The HTTP API through AWS's Runtime Interface Emulator, against the real local Cognito (moto)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from local_runtime.runtime import LocalRuntime
from tests.fixtures.harness import Probe, declare, new_run_id, probe_system, undeclare

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def runtime(local_state: dict[str, str]) -> Iterator[tuple[LocalRuntime, Probe]]:
    run_id = new_run_id()
    system = probe_system(run_id)
    declare(system)
    rt = LocalRuntime(system, local_state, port=0, run_services=False, runtime_id=f"test-{run_id}")
    rt.start()
    probe = Probe(run_id)
    yield rt, probe
    rt.stop()
    probe.cleanup()
    undeclare(system)


def call(rt: LocalRuntime, path: str, token: str | None = None, method: str = "GET",
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(rt.url + path, method=method, data=body)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if path.startswith("/_local/"):
        from local_runtime.credentials import CONTROL_HEADER, control_secret

        req.add_header(CONTROL_HEADER, control_secret())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_authorized_route_gets_a_v2_event_with_verified_claims(runtime: Any, trader_token: str) -> None:
    rt, probe = runtime
    status, headers, body = call(rt, "/items/42?x=1", trader_token)
    assert status == 200, body
    assert headers["apigw-requestid"]
    event = probe.items("events")[-1]
    model = APIGatewayProxyEventV2Model.model_validate(event)
    assert model.rawPath == "/items/42" and model.rawQueryString == "x=1"
    assert model.pathParameters == {"id": "42"}
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == jwt.decode(trader_token, options={"verify_signature": False})["sub"]
    assert event["requestContext"]["requestId"] == headers["apigw-requestid"]
    assert json.loads(body)["remaining_ms"] <= 2000  # the function's declared timeout reaches the context


def test_post_body_reaches_the_function(runtime: Any, trader_token: str) -> None:
    rt, probe = runtime
    status, _, _ = call(rt, "/items", trader_token, "POST", b'{"a": 1}')
    assert status == 200
    event = probe.items("events")[-1]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


def moto_signing_key() -> Any:
    """The private key the local Cognito signs with, so tests can mint tokens that are correctly signed but
    wrong in one respect only: the install's key pair (``local_runtime.moto_server``), or moto's bundled one
    when the system's moto was started before the gate existed (the pool's JWKS tells which)."""
    import gzip
    from pathlib import Path

    import moto.cognitoidp

    from local_runtime.credentials import cognito_private_jwk, cognito_public_jwks
    from local_runtime.paths import STATE_FILE

    state = json.loads(STATE_FILE.read_text())
    served = json.loads(urllib.request.urlopen(state["jwks_url"], timeout=10).read())
    if served == cognito_public_jwks():
        return jwt.PyJWK(cognito_private_jwk()).key
    raw = gzip.decompress((Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz").read_bytes())
    return jwt.PyJWK(json.loads(raw)).key


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "wrong-audience", "wrong-issuer", "forged",
                                  "not-yet-valid"])
def test_bad_tokens_get_401_and_never_reach_the_function(runtime: Any, trader_token: str, case: str) -> None:
    rt, probe = runtime
    before = len(probe.items("events"))
    claims = jwt.decode(trader_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(trader_token)
    now = int(time.time())

    def mint(**changes: Any) -> str:
        return jwt.encode({**claims, **changes}, moto_signing_key(), algorithm="RS256", headers=header)

    token = {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": mint(exp=now - 10),
        "wrong-audience": mint(client_id="someone-else"),
        "wrong-issuer": mint(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        "not-yet-valid": mint(nbf=now + 600),
        "forged": ".".join([*trader_token.split(".")[:2], jwt.encode(claims, "k").split(".")[2]]),
    }[case]
    status, _, body = call(rt, "/hello", token)
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert len(probe.items("events")) == before
    assert call(rt, "/hello", mint())[0] == 200  # the same key and claims, unchanged, are accepted


def test_a_token_of_another_user_pool_client_is_refused(runtime: Any, local_state: dict[str, str]) -> None:
    from mybroker.aws import client

    cognito = client("cognito-idp")
    other = cognito.create_user_pool_client(UserPoolId=local_state["user_pool_id"], ClientName="other",
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH",
                                                               "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    try:
        tokens = cognito.initiate_auth(ClientId=other["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": "trader@mybroker.local",
                                                       "PASSWORD": "Trader-pass-123"})["AuthenticationResult"]
        status, _, _ = call(runtime[0], "/hello", tokens["AccessToken"])
        assert status == 401
    finally:
        cognito.delete_user_pool_client(UserPoolId=local_state["user_pool_id"], ClientId=other["ClientId"])


def test_unauthorized_routes_greedy_paths_and_inferred_responses(runtime: Any) -> None:
    rt, _ = runtime
    assert call(rt, "/public")[0] == 200
    assert call(rt, "/files/a/b.txt")[0] == 200
    status, headers, body = call(rt, "/bare")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert headers["content-type"] == "application/json"
    assert call(rt, "/nope")[0] == 404


def test_status_codes_and_cookies_are_mapped(runtime: Any, trader_token: str) -> None:
    rt, _ = runtime
    assert call(rt, "/created", trader_token)[0] == 201
    req = urllib.request.Request(rt.url + "/cookies", headers={"Authorization": f"Bearer {trader_token}"})
    with urllib.request.urlopen(req) as r:
        assert r.headers.get_all("set-cookie") == ["a=1", "b=2"]


def test_handler_error_is_a_500_with_the_request_id(runtime: Any, trader_token: str) -> None:
    rt, _ = runtime
    status, headers, body = call(rt, "/boom", trader_token)
    assert status == 500
    assert json.loads(body) == {"message": "Internal Server Error"}
    assert headers["apigw-requestid"]


def test_timeout_is_a_function_error_and_the_next_call_gets_a_fresh_environment(runtime: Any,
                                                                              trader_token: str) -> None:
    rt, _ = runtime
    _, _, before = call(rt, "/hello", trader_token)
    status, _, _ = call(rt, "/sleep?s=5", trader_token)  # the function's timeout is 2 s
    assert status == 500
    pids = {json.loads(call(rt, "/hello", trader_token)[2])["pid"] for _ in range(2)}
    assert json.loads(before)["pid"] not in pids  # the timed-out runtime was killed and re-initialised


def test_a_crashed_runtime_is_replaced(runtime: Any, trader_token: str) -> None:
    rt, _ = runtime
    assert call(rt, "/exit", trader_token)[0] == 500
    assert call(rt, "/hello", trader_token)[0] == 200


def test_two_concurrent_requests_use_two_environments(runtime: Any, trader_token: str) -> None:
    rt, _ = runtime
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: call(rt, "/sleep?s=0.8", trader_token), range(2)))
    assert [a[0] for a in answers] == [200, 200]
    assert len({json.loads(a[2])["pid"] for a in answers}) == 2
    assert rt.lambdas.pools[next(n for n in rt.lambdas.pools if n.startswith("probe-http"))].size == 2


def test_a_third_concurrent_request_waits_for_a_free_environment(runtime: Any, trader_token: str) -> None:
    rt, _ = runtime
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: call(rt, "/sleep?s=0.5", trader_token), range(3)))
    assert [a[0] for a in answers] == [200, 200, 200]
    assert len({json.loads(a[2])["pid"] for a in answers}) == 2  # the concurrency is 2


def test_clock_and_schedules_are_driven_through_the_control_routes(runtime: Any) -> None:
    rt, probe = runtime
    set_body = json.dumps({"set": "2026-11-25T12:59:30+00:00"}).encode()
    status, _, _ = call(rt, "/_local/clock", method="POST", body=set_body)  # 09:59:30 in Sao Paulo
    assert status == 200
    status, _, body = call(rt, "/_local/clock", method="POST", body=b'{"advance_s": 60}')
    assert json.loads(body)["fired"] >= 1
    probe.wait_for(lambda: any(e["time"] == "2026-11-25T13:00:00Z" for e in probe.items("scheduled")))
