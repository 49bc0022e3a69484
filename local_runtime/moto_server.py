"""``python -m local_runtime.moto_server -H 127.0.0.1 -p 4566``: moto's server, made fit for a machine that
holds money-shaped data.

- Cognito signs tokens with the install's key pair (``var/secrets/cognito-signing-key.json``) and serves
  its public half as the pool's JWKS, instead of the pair bundled in the moto package (whose private half
  anyone can read, so anyone could mint user or admin tokens).
- A WSGI gate in front of moto's app lets through unsigned only what AWS serves unsigned: Cognito's public
  (client-side) actions and the pools' ``/.well-known/*`` documents. Everything else (Admin* actions, SSM,
  Secrets Manager, S3, moto's own ``/moto-api/*``) needs a SigV4 signature made with one of the install's
  keys (``local_runtime.credentials``); otherwise 403.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local_runtime import credentials
from local_runtime.sigv4 import SignatureError, sign, verify

log = logging.getLogger("local_runtime.moto_gate")

REGION = "us-east-1"
GATE_HEADER = "x-mybroker-moto-gate"
# Cognito user pool actions AWS serves without IAM credentials (authorized by the user's tokens or public).
# Not ForgotPassword / ConfirmForgotPassword: locally no e-mail carries the code, and moto's
# ConfirmForgotPassword takes any code, so anyone could set any user's password.
PUBLIC_COGNITO_ACTIONS = frozenset({
    "AssociateSoftwareToken", "ChangePassword", "ConfirmDevice", "ConfirmSignUp",
    "DeleteUser", "DeleteUserAttributes", "ForgetDevice", "GetDevice", "GetTokensFromRefreshToken",
    "GetUser", "GetUserAttributeVerificationCode", "GetUserAuthFactors", "GlobalSignOut", "InitiateAuth",
    "ListDevices", "ResendConfirmationCode", "RespondToAuthChallenge", "RevokeToken", "SetUserMFAPreference",
    "SetUserSettings", "SignUp", "UpdateDeviceStatus", "UpdateUserAttributes", "VerifySoftwareToken",
    "VerifyUserAttribute",
})
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
WELL_KNOWN = re.compile(r"^/[\w-]+/\.well-known/(jwks\.json|openid-configuration)$")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


LOCAL_HOST = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$")


def is_public(environ: Mapping[str, Any]) -> bool:
    """What AWS itself answers without a signature. moto takes the action from the query string before the
    X-Amz-Target header (and from a form body), and picks the service from the Host header or from an
    Authorization header's credential scope: a public request has none of those, so the Cognito target is what
    moto serves."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/"))
    if (environ.get("QUERY_STRING") or environ.get("HTTP_AUTHORIZATION")
            or not LOCAL_HOST.match(str(environ.get("HTTP_HOST", "")))):
        return False
    if method in ("GET", "HEAD") and WELL_KNOWN.match(path):
        return True
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    return (method == "POST" and path == "/" and content_type == "application/x-amz-json-1.1"
            and target.startswith(COGNITO_TARGET_PREFIX)
            and target[len(COGNITO_TARGET_PREFIX):] in PUBLIC_COGNITO_ACTIONS)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            out[name] = str(environ[key])
    return out


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body: bytes = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class SignatureGate:
    """WSGI middleware: only requests signed with one of the install's keys reach moto, except the public
    Cognito actions and documents."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "/"))
        if is_public(environ):
            return self.app(environ, start_response)
        body = _read_body(environ)
        headers = _headers(environ)
        raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
        if not raw:
            query = environ.get("QUERY_STRING")
            raw = path + (f"?{query}" if query else "")
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{headers.get('host', '')}{raw}"
        try:
            verify(method, url, headers, body, credentials.secret_for, unsigned_payload_ok=True)
        except SignatureError as exc:
            log.warning("refused %s %s: %s", method, raw, exc)
            payload = json.dumps({"__type": "UnrecognizedClientException",
                                  "message": "The security token included in the request is invalid."}).encode()
            start_response("403 Forbidden", [("Content-Type", "application/x-amz-json-1.1"),
                                             ("Content-Length", str(len(payload))), (GATE_HEADER, "refused")])
            return [payload]
        return self.app(environ, start_response)


def use_install_signing_key() -> None:
    """Makes moto's Cognito sign with the install's key pair and publish its public half as the JWKS."""
    import moto.cognitoidp.models as models
    import moto.cognitoidp.responses as responses

    private = credentials.cognito_private_jwk()
    bundled_loader = models.load_resource  # type: ignore[attr-defined]

    def load_resource(resource: str) -> Any:
        if resource.startswith("cognitoidp/resources/jwks-private.json"):
            return dict(private)
        return bundled_loader(resource)

    models.load_resource = load_resource  # type: ignore[attr-defined]
    responses.CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(credentials.cognito_public_jwks()).encode()


def app() -> WsgiApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    use_install_signing_key()
    return SignatureGate(DomainDispatcherApplication(create_backend_app))


def signed_get(url: str, timeout: float = 2.0) -> int:
    """Status of a GET signed with the runtime's key (how the runtime checks that moto is up)."""
    key = credentials.aws_key(credentials.RUNTIME_PRINCIPAL)
    headers = sign("GET", url, b"", key.access_key_id, key.secret_access_key, "moto", REGION)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def healthy(port: int) -> bool:
    try:
        return signed_get(f"http://127.0.0.1:{port}/moto-api/") == 200
    except (urllib.error.URLError, OSError):
        return False


def serves_install_keys(jwks_url: str) -> bool | None:
    """Whether a pool's JWKS is the install's (None if it cannot be read): a moto started without this wrapper
    publishes (and signs with) moto's bundled key pair, which anyone can sign with."""
    try:
        with urllib.request.urlopen(jwks_url, timeout=5) as r:
            return bool(json.loads(r.read()) == credentials.cognito_public_jwks())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(prog="python -m local_runtime.moto_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    import os

    os.environ.setdefault("MOTO_PORT", str(args.port))
    run_simple(args.host, args.port, app(), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
