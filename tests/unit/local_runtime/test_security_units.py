"""The pieces of the local runtime's lock-down, one at a time: framing, the control-route checks, SigV4
checking (botocore signs, our verifier must agree and refuse every alteration), and the derived keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runtime import credentials
from local_runtime.http_api import FramingError, control_refusal, declared_length
from local_runtime.moto_server import is_public
from local_runtime.sigv4 import SignatureError, sign, verify


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh install's secrets folder."""
    monkeypatch.setattr(credentials, "SECRETS", tmp_path / "secrets")
    credentials.install_key.cache_clear()
    credentials.control_secret.cache_clear()
    yield tmp_path / "secrets"
    credentials.install_key.cache_clear()
    credentials.control_secret.cache_clear()


@pytest.mark.parametrize(("lengths", "encodings", "expected"), [
    ([], [], 0), (["0"], [], 0), (["17"], [], 17), ([" 17 "], [], 17), ([str(10 * 1024 * 1024)], [], 10485760),
])
def test_good_framing(lengths: list[str], encodings: list[str], expected: int) -> None:
    assert declared_length(lengths, encodings) == expected


@pytest.mark.parametrize(("lengths", "encodings", "status"), [
    (["-1"], [], 400), (["abc"], [], 400), (["1e3"], [], 400), (["+3"], [], 400), (["٣"], [], 400), ([""], [], 400),
    (["3", "3"], [], 400), (["3", "4"], [], 400), (["3, 4"], [], 400), ([], ["chunked"], 400),
    (["3"], ["gzip, chunked"], 400), ([str(10 * 1024 * 1024 + 1)], [], 413), (["9" * 40], [], 413),
])
def test_bad_framing(lengths: list[str], encodings: list[str], status: int) -> None:
    with pytest.raises(FramingError) as refused:
        declared_length(lengths, encodings)
    assert refused.value.status == status


def test_control_refusals(install: Path) -> None:
    secret = credentials.control_secret()
    ok = {credentials.CONTROL_HEADER: secret, "Host": "127.0.0.1:3000", "Content-Type": "application/json"}
    assert control_refusal("POST", ok, secret, "r") is None
    assert control_refusal("GET", {**ok, "Content-Type": ""}, secret, "r") is None
    assert control_refusal("POST", {**ok, "Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-origin"},
                           secret, "r") is None
    for headers, status in [
        ({**ok, credentials.CONTROL_HEADER: ""}, 403),
        ({k: v for k, v in ok.items() if k != credentials.CONTROL_HEADER}, 403),
        ({**ok, credentials.CONTROL_HEADER: secret + "x"}, 403),
        ({**ok, "Origin": "http://localhost:8080"}, 403),
        ({**ok, "Origin": "null"}, 403),
        ({**ok, "Sec-Fetch-Site": "cross-site"}, 403),
        ({**ok, "Sec-Fetch-Site": "same-site"}, 403),
        ({**ok, "Content-Type": "text/plain"}, 415),
        ({**ok, "Content-Type": "application/x-www-form-urlencoded"}, 415),
    ]:
        answer = control_refusal("POST", headers, secret, "r")
        assert answer is not None and answer.status == status, headers


def test_secrets_are_created_once_private_and_kept(install: Path) -> None:
    first = credentials.control_secret()
    assert (install / "control-secret").stat().st_mode & 0o777 == 0o600
    assert install.stat().st_mode & 0o777 == 0o700
    credentials.control_secret.cache_clear()
    assert credentials.control_secret() == first and len(first) >= 32
    key = credentials.aws_key("orders-api")
    assert (install / "install.key").stat().st_mode & 0o777 == 0o600
    credentials.install_key.cache_clear()
    assert credentials.aws_key("orders-api") == key  # recomputed from the kept secret
    jwk = credentials.cognito_private_jwk()
    assert (install / "cognito-signing-key.json").stat().st_mode & 0o777 == 0o600
    assert "d" in jwk and "d" not in credentials.cognito_public_jwks()["keys"][0]


def test_each_principal_gets_its_own_key_and_only_install_ids_have_a_secret(install: Path) -> None:
    orders, wallet = credentials.aws_key("orders-api"), credentials.aws_key("wallet-api")
    assert orders.access_key_id != wallet.access_key_id
    assert orders.secret_access_key != wallet.secret_access_key
    assert orders.access_key_id.startswith("AKIA") and len(orders.access_key_id) == 20
    assert credentials.secret_for(orders.access_key_id) == orders.secret_access_key
    assert credentials.secret_for("test") is None


def test_another_install_derives_other_keys(install: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = credentials.aws_key("orders-api")
    monkeypatch.setattr(credentials, "SECRETS", tmp_path / "other")
    credentials.install_key.cache_clear()
    assert credentials.aws_key("orders-api") != here


URL = "http://127.0.0.1:3000/internal/wallet/reservations?b=2&a=1"


def _signed(body: bytes = b'{"x": 1}', service: str = "execute-api", key: str = "AKIDEXAMPLE",
            secret: str = "s3cr3t") -> dict[str, str]:
    return sign("POST", URL, body, key, secret, service, "us-east-1", {"Content-Type": "application/json"})


def _verify(headers: dict[str, str], body: bytes = b'{"x": 1}', url: str = URL, method: str = "POST",
            now: float | None = None) -> str:
    signed = verify(method, url, {**headers, "Host": "127.0.0.1:3000"}, body,
                    lambda k: "s3cr3t" if k == "AKIDEXAMPLE" else None, service="execute-api", region="us-east-1",
                    now=now)
    return signed.access_key_id


def test_a_botocore_signature_verifies() -> None:
    assert _verify(_signed()) == "AKIDEXAMPLE"


@pytest.mark.parametrize("alteration", ["body", "path", "query", "method", "header", "secret", "key", "service",
                                        "stale", "future", "no-date", "signature", "bearer", "empty"])
def test_every_alteration_is_refused(alteration: str) -> None:
    headers = _signed()
    body, url, method, now = b'{"x": 1}', URL, "POST", None
    if alteration == "body":
        body = b'{"x": 2}'
    elif alteration == "path":
        url = URL.replace("reservations", "reservation")
    elif alteration == "query":
        url = URL.replace("a=1", "a=2")
    elif alteration == "method":
        method = "PUT"
    elif alteration == "header":
        headers["Content-Type"] = "text/plain"
    elif alteration == "secret":
        headers = _signed(secret="other")
    elif alteration == "key":
        headers = _signed(key="AKIDOTHER")
    elif alteration == "service":
        headers = _signed(service="ssm")
    elif alteration == "stale":
        now = time.time() + 301
    elif alteration == "future":
        now = time.time() - 301
    elif alteration == "no-date":
        headers.pop("X-Amz-Date")
    elif alteration == "signature":
        headers["Authorization"] = headers["Authorization"][:-1] + ("0" if headers["Authorization"][-1] != "0" else "1")
    elif alteration == "bearer":
        headers["Authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x"
    else:
        headers.pop("Authorization")
    with pytest.raises(SignatureError):
        _verify(headers, body, url, method, now)


def environ(method: str, path: str, target: str = "", **extra: str) -> dict[str, str]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": "127.0.0.1:4566",
            "CONTENT_TYPE": "application/x-amz-json-1.1", **({"HTTP_X_AMZ_TARGET": target} if target else {}),
            **extra}


def test_what_moto_serves_unsigned() -> None:
    target = "AWSCognitoIdentityProviderService."
    assert is_public(environ("POST", "/", target + "InitiateAuth"))
    assert is_public(environ("POST", "/", target + "RespondToAuthChallenge"))
    assert is_public(environ("GET", "/us-east-1_abc/.well-known/jwks.json"))
    for method, path, action in [("POST", "/", target + "AdminAddUserToGroup"), ("POST", "/", target + "CreateGroup"),
                                 ("POST", "/", "AmazonSSM.GetParameter"), ("POST", "/moto-api/reset", ""),
                                 ("GET", "/moto-api/", ""), ("POST", "/x/.well-known/jwks.json", ""),
                                 ("POST", "/other", target + "InitiateAuth"),
                                 # moto sets any password on any code: no password reset without e-mail
                                 ("POST", "/", target + "ConfirmForgotPassword"),
                                 ("POST", "/", target + "ForgotPassword")]:
        assert not is_public(environ(method, path, action)), (method, path, action)


def test_a_public_target_cannot_smuggle_another_action_or_service() -> None:
    # found in review: moto reads ?Action= before X-Amz-Target and takes the service from an Authorization
    # header's credential scope, so an unsigned "SignUp" could be AdminAddUserToGroup, or SSM's GetParameter
    sign_up = "AWSCognitoIdentityProviderService.SignUp"
    scope = "AWS4-HMAC-SHA256 Credential=AKIAFAKE/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0"
    for extra in ({"QUERY_STRING": "Action=AdminAddUserToGroup"}, {"HTTP_AUTHORIZATION": scope},
                  {"CONTENT_TYPE": "application/x-www-form-urlencoded"}, {"HTTP_HOST": "ssm.us-east-1.amazonaws.com"},
                  {"HTTP_HOST": ""}):
        assert not is_public(environ("POST", "/", sign_up, **extra)), extra
    assert is_public(environ("POST", "/", sign_up, CONTENT_TYPE="application/x-amz-json-1.1; charset=utf-8"))
