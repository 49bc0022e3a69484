"""The local runtime locked down (issue 17): IAM-authorized routes with per-function SigV4 keys, the ``/_local``
control routes behind the runtime's secret, tokens signed with the install's key pair (not moto's bundled
one), moto behind a signature gate, and strict HTTP framing. Against a real runtime and a moto of its own."""

from __future__ import annotations

import gzip
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.auth
import jwt
import pytest

from local_runtime import credentials
from local_runtime.runtime import LocalRuntime
from local_runtime.sigv4 import sign
from tests.fixtures.harness import PrivateMoto, Probe, new_run_id, probe_system

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[PrivateMoto, dict[str, str]]]:
    server = PrivateMoto()
    try:
        state = server.start()
        yield server, state
    finally:
        server.stop()


@pytest.fixture(scope="module")
def runtime(moto: tuple[PrivateMoto, dict[str, str]]) -> Iterator[tuple[LocalRuntime, Probe, str]]:
    run_id = new_run_id()
    system = probe_system(run_id)
    system = type(system)(functions=system.functions, routes=system.routes)  # no queues, topics or schedules
    rt = LocalRuntime(system, moto[1], port=0, run_services=False, runtime_id=f"test-{run_id}")
    rt.start()
    probe = Probe(run_id)
    yield rt, probe, run_id
    rt.stop()
    probe.cleanup()


def request(url: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def signed(rt: LocalRuntime, function: str, method: str, path: str, body: bytes = b"",
           send_body: bytes | None = None) -> tuple[int, Any]:
    """A call signed (SigV4, execute-api) with the key the runtime gives ``function``'s environment."""
    url = rt.url + path
    env = rt.lambdas.pools[function].environment
    key = credentials.AwsKey(function, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    headers = sign(method, url, body, key.access_key_id, key.secret_access_key, "execute-api", "us-east-1",
                   {"Content-Type": "application/json"} if body else None)
    return request(url, method, send_body if send_body is not None else (body or None), headers)


# --- IAM routes ---------------------------------------------------------------------------------------------------

def test_the_declared_caller_gets_through_with_an_iam_identity(runtime: Any) -> None:
    rt, probe, run_id = runtime
    caller = f"probe-bare-{run_id}"
    status, _ = signed(rt, caller, "POST", "/internal/items?x=1", b'{"orderId": "o-1"}')
    assert status == 200
    event = probe.items("events")[-1]
    assert event["rawPath"] == "/internal/items" and event["body"] == '{"orderId": "o-1"}'
    key = credentials.aws_key(caller)
    assert event["requestContext"]["authorizer"] == {"iam": {
        "accessKey": key.access_key_id,
        "accountId": "000000000000",
        "callerId": f"{credentials.role_id(caller)}:{caller}",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:sts::000000000000:assumed-role/{caller}-role/{caller}",
        "userId": f"{credentials.role_id(caller)}:{caller}",
    }}
    assert signed(rt, caller, "GET", "/internal/items/42")[0] == 200


def test_each_function_has_its_own_key(runtime: Any) -> None:
    rt, _, run_id = runtime
    envs = [rt.lambdas.pools[f"{n}-{run_id}"].environment for n in ("probe-http", "probe-bare")]
    keys = {(e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"]) for e in envs}
    assert len(keys) == 2 and len({k for k, _ in keys}) == 2 and ("test", "test") not in keys
    assert envs[1]["AWS_ACCESS_KEY_ID"] == credentials.aws_key(f"probe-bare-{run_id}").access_key_id


def _stale_headers(rt: LocalRuntime, caller: str, body: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    stale = datetime.now(UTC) - timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stale.replace(tzinfo=None))
    key = credentials.aws_key(caller)
    try:
        return sign("POST", rt.url + "/internal/items", body, key.access_key_id, key.secret_access_key,
                    "execute-api", "us-east-1", {"Content-Type": "application/json"})
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("case", ["another-function", "user-token", "unsigned", "tampered-body", "stale-date",
                                  "unknown-key", "wrong-service"])
def test_internal_routes_refuse_everyone_else_before_any_function_runs(
        runtime: Any, moto: tuple[PrivateMoto, dict[str, str]], case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, probe, run_id = runtime
    caller = f"probe-bare-{run_id}"
    before = len(probe.items("events"))
    body = b'{"orderId": "o-2"}'
    url = rt.url + "/internal/items"
    if case == "another-function":
        status, answer = signed(rt, f"probe-http-{run_id}", "POST", "/internal/items", body)
    elif case == "user-token":
        status, answer = request(url, "POST", body, {"Authorization": f"Bearer {moto[0].token()}",
                                                      "Content-Type": "application/json"})
    elif case == "unsigned":
        status, answer = request(url, "POST", body, {"Content-Type": "application/json"})
    elif case == "tampered-body":
        status, answer = signed(rt, caller, "POST", "/internal/items", body, send_body=b'{"orderId": "o-3"}')
    elif case == "stale-date":
        status, answer = request(url, "POST", body, _stale_headers(rt, caller, body, monkeypatch))
    elif case == "unknown-key":
        headers = sign("POST", url, body, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                       "execute-api", "us-east-1", {"Content-Type": "application/json"})
        status, answer = request(url, "POST", body, headers)
    else:
        key = credentials.aws_key(caller)
        headers = sign("POST", url, body, key.access_key_id, key.secret_access_key, "ssm", "us-east-1",
                       {"Content-Type": "application/json"})
        status, answer = request(url, "POST", body, headers)
    assert (status, answer) == (403, {"message": "Forbidden"})
    assert len(probe.items("events")) == before
    assert signed(rt, caller, "POST", "/internal/items", body)[0] == 200  # the caller itself, unchanged, passes


# --- the /_local control routes -----------------------------------------------------------------------------------

def test_control_routes_need_the_secret_a_json_body_and_the_same_origin(runtime: Any) -> None:
    rt, _, _ = runtime
    url = rt.url + "/_local/clock"
    good = credentials.control_headers()
    move = json.dumps({"advance_s": 3600}).encode()
    before = request(url, headers=good)[1]["now"]
    refusals = {
        "no secret": {"Content-Type": "application/json"},
        "wrong secret": {**good, credentials.CONTROL_HEADER: "guess"},
        "cross-site origin": {**good, "Origin": "https://evil.example"},
        "cross-site fetch": {**good, "Sec-Fetch-Site": "cross-site"},
        "text/plain": {**good, "Content-Type": "text/plain"},
    }
    for name, headers in refusals.items():
        status, answer = request(url, "POST", move, headers)
        assert status in (403, 415), name
        assert answer["code"] in ("LOCAL_SECRET_REQUIRED", "CROSS_SITE_REFUSED", "JSON_REQUIRED"), name
    assert request(url, headers=good)[1]["now"][:16] == before[:16]  # the clock did not move
    assert request(rt.url + "/_local/health")[0] == 403
    assert request(rt.url + f"/_local/functions/{next(iter(rt.lambdas.pools))}/invoke", "POST", b"{}",
                   {"Content-Type": "application/json"})[0] == 403
    same_origin = {**good, "Origin": rt.url, "Sec-Fetch-Site": "same-origin"}
    status, answer = request(url, "POST", move, same_origin)
    assert status == 200 and answer["now"] > before


# --- tokens -------------------------------------------------------------------------------------------------------

def bundled_moto_key() -> Any:
    import moto.cognitoidp

    raw = gzip.decompress((Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz")
                          .read_bytes())
    return jwt.PyJWK(json.loads(raw)).key


def test_a_token_signed_with_motos_bundled_key_is_refused(runtime: Any, moto: tuple[PrivateMoto, dict[str, str]]
                                                           ) -> None:
    rt, probe, _ = runtime
    real = moto[0].token()
    assert request(rt.url + "/hello", headers={"Authorization": f"Bearer {real}"})[0] == 200
    claims = jwt.decode(real, options={"verify_signature": False})
    forged = jwt.encode({**claims, "cognito:groups": ["admin"]}, bundled_moto_key(), algorithm="RS256",
                        headers=jwt.get_unverified_header(real))
    before = len(probe.items("events"))
    status, answer = request(rt.url + "/hello", headers={"Authorization": f"Bearer {forged}"})
    assert (status, answer) == (401, {"message": "Unauthorized"})
    assert len(probe.items("events")) == before
    served = json.loads(urllib.request.urlopen(moto[1]["jwks_url"], timeout=10).read())
    assert served == credentials.cognito_public_jwks()  # the pool publishes the install's key, not moto's


# --- the moto gate ------------------------------------------------------------------------------------------------

def _groups(server: PrivateMoto) -> list[str]:
    answer = server.client("cognito-idp").admin_list_groups_for_user(UserPoolId=server.pool_id, Username=server.user)
    return [g["GroupName"] for g in answer["Groups"]]


def test_moto_refuses_admin_calls_unless_signed_with_an_install_key(moto: tuple[PrivateMoto, dict[str, str]]) -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    server, _ = moto
    unsigned = boto3.client("cognito-idp", endpoint_url=server.endpoint, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED))
    for client in (unsigned, server.client("cognito-idp", ("test", "test")),
                   server.client("cognito-idp", ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))):
        with pytest.raises(ClientError) as refused:
            client.admin_add_user_to_group(UserPoolId=server.pool_id, Username=server.user, GroupName="admin")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _groups(server) == []
    with pytest.raises(ClientError):
        server.client("ssm", ("test", "test")).get_parameters_by_path(Path="/")
    # what AWS serves unsigned still works: logging in, and the pool's keys
    assert unsigned.initiate_auth(ClientId=server.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": server.user, "PASSWORD": server.password})
    assert request(moto[1]["jwks_url"])[0] == 200
    # and a function's own key (the runtime gives each one) is an install key
    fn_key = credentials.aws_key("wallet-api")
    server.client("cognito-idp", (fn_key.access_key_id, fn_key.secret_access_key)).admin_add_user_to_group(
        UserPoolId=server.pool_id, Username=server.user, GroupName="admin")
    assert _groups(server) == ["admin"]


def test_a_public_cognito_target_cannot_carry_an_admin_action_or_another_service(
        moto: tuple[PrivateMoto, dict[str, str]]) -> None:
    """Found in review: moto takes the action from ``?Action=`` before X-Amz-Target, and the service from an
    Authorization header's credential scope; the gate looked only at the target."""
    server, _ = moto
    server.client("cognito-idp").create_group(UserPoolId=server.pool_id, GroupName="smuggled")
    json_type = {"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.SignUp"}
    body = json.dumps({"UserPoolId": server.pool_id, "Username": server.user, "GroupName": "smuggled"}).encode()
    status, _ = request(f"{server.endpoint}/?Action=AdminAddUserToGroup", "POST", body, json_type)
    assert status == 403
    scope = ("AWS4-HMAC-SHA256 Credential=AKIAFAKE/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host, "
             "Signature=00")
    status, _ = request(f"{server.endpoint}/?Action=GetParameter", "POST",
                        json.dumps({"Name": "/mybroker/mongodb-uri", "WithDecryption": True}).encode(),
                        {**json_type, "Authorization": scope})
    assert status == 403
    assert "smuggled" not in _groups(server)


def test_a_password_cannot_be_reset_without_the_users_mail(moto: tuple[PrivateMoto, dict[str, str]]) -> None:
    """moto's ConfirmForgotPassword sets the password on any code: locally, where no e-mail carries one, it
    would let anyone take any account."""
    server, _ = moto
    for action in ("ForgotPassword", "ConfirmForgotPassword"):
        status, _ = request(f"{server.endpoint}/", "POST", json.dumps({
            "ClientId": server.client_id, "Username": server.user, "ConfirmationCode": "000000",
            "Password": "Owned-pass-123"}).encode(),
            {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}"})
        assert status == 403, action
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    unsigned = boto3.client("cognito-idp", endpoint_url=server.endpoint, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED))
    assert unsigned.initiate_auth(ClientId=server.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": server.user, "PASSWORD": server.password})


def test_motos_own_api_is_refused_unsigned(moto: tuple[PrivateMoto, dict[str, str]]) -> None:
    server, _ = moto
    status, _ = request(f"{server.endpoint}/moto-api/reset", "POST", b"")
    assert status == 403
    status, _ = request(f"{server.endpoint}/moto-api/")
    assert status == 403
    # nothing was reset: the pool is still there
    assert server.client("cognito-idp").describe_user_pool(UserPoolId=server.pool_id)["UserPool"]["Id"]


# --- HTTP framing -------------------------------------------------------------------------------------------------

def raw_exchange(rt: LocalRuntime, head: str) -> tuple[int, dict[str, Any]]:
    """Sends the request head (no body) on a fresh connection and reads the answer, which must come without
    the runtime waiting for a body."""
    with socket.create_connection((rt.host, rt.port), timeout=30) as s:
        s.sendall(head.encode() + b"\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(body)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.parametrize(("headers", "status", "code"), [
    ("Content-Length: -1", 400, "INVALID_CONTENT_LENGTH"),
    ("Content-Length: abc", 400, "INVALID_CONTENT_LENGTH"),
    ("Content-Length: +5", 400, "INVALID_CONTENT_LENGTH"),
    ("Content-Length: 5\r\nContent-Length: 7", 400, "DUPLICATE_CONTENT_LENGTH"),
    ("Content-Length: 5\r\nContent-Length: 5", 400, "DUPLICATE_CONTENT_LENGTH"),
    ("Content-Length: 5, 7", 400, "DUPLICATE_CONTENT_LENGTH"),
    ("Transfer-Encoding: chunked", 400, "UNSUPPORTED_TRANSFER_ENCODING"),
    ("Transfer-Encoding: chunked\r\nContent-Length: 5", 400, "UNSUPPORTED_TRANSFER_ENCODING"),
    (f"Content-Length: {10 * 1024 * 1024 + 1}", 413, "PAYLOAD_TOO_LARGE"),
    ("Content-Length: 99999999999999999999999", 413, "PAYLOAD_TOO_LARGE"),
])
def test_bad_framing_is_answered_at_once(runtime: Any, headers: str, status: int, code: str) -> None:
    rt, probe, _ = runtime
    before = len(probe.items("events"))
    head = f"POST /public HTTP/1.1\r\nHost: {rt.host}:{rt.port}\r\nContent-Type: application/json\r\n{headers}\r\n"
    answer = raw_exchange(rt, head)
    assert answer[0] == status and answer[1]["code"] == code
    assert len(probe.items("events")) == before
    assert request(rt.url + "/public")[0] == 200  # and the server keeps serving
