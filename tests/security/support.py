"""What the security tests share: a raw HTTP client that counts every attack it sends, forged identities, and
reads of a user's money (wallet, positions, statement) to prove nothing moved.

Every request an attack sends goes through :func:`attack`, which records its status in :data:`TALLY`; the
suite's conftest prints the totals (attacks tried, 5xx answers) at the end of the run."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from local_runtime import credentials
from tests.e2e.orders.service_calls import signer_of
from tests.fixtures.users import API, Response, User, state


@dataclass
class Tally:
    """Attacks sent per group, and every answer of 500 or more (there must be none)."""

    attacks: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def record(self, group: str, what: str, status: int) -> None:
        self.attacks[group] += 1
        if status:  # 0: a message published, no HTTP answer
            self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{group}: {what} -> {status}")


TALLY = Tally()


def send(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
         timeout: float = 60) -> Response:
    req = urllib.request.Request(state().get("api_url", API) + path, method=method, data=body,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, dict(r.headers.items())
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, dict(e.headers.items())
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Response(status, parsed, {k.lower(): v for k, v in hdrs.items()})


def attack(group: str, method: str, path: str, *, headers: dict[str, str] | None = None,
           body: bytes | None = None) -> Response:
    r = send(method, path, headers=headers, body=body)
    TALLY.record(group, f"{method} {path[:120]}", r.status)
    return r


def as_json(body: Any) -> tuple[dict[str, str], bytes | None]:
    if body is None:
        return {}, None
    return {"Content-Type": "application/json"}, json.dumps(body).encode()


def signed_headers(function: str, method: str, path: str, body: bytes | None,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    """SigV4 (execute-api) headers made with the keys the runtime gives ``function``'s environment."""
    url = state().get("api_url", API) + path
    return signer_of(function).sign(method, url, body, dict(extra or {}))


# --- forged identities ----------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    """A real token's claims, unverified (an attacker reads them from any token of theirs)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    header = _b64(json.dumps({"typ": "JWT", "alg": alg, "kid": "dummy"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hs256(claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT refuses an asymmetric key as an HMAC secret, an attacker's library need not."""
    signing_input = (_b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "dummy"}).encode()) + "."
                     + _b64(json.dumps(claims).encode()))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def rs256(claims: dict[str, Any], private_jwk: dict[str, Any]) -> str:
    key = RSAAlgorithm.from_jwk(json.dumps(private_jwk))
    return jwt.encode(claims, key, algorithm="RS256",  # type: ignore[arg-type]
                      headers={"kid": str(private_jwk.get("kid", "dummy"))})


def moto_bundled_private_jwk() -> dict[str, Any]:
    """The private half of the key pair the moto package ships (readable by anyone who installs moto)."""
    path = Path(str(resources.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz"))
    jwk: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return jwk


def public_pem() -> bytes:
    """The install's public signing key as PEM: the classic RS256/HS256 key-confusion secret."""
    from cryptography.hazmat.primitives import serialization

    public = RSAAlgorithm.from_jwk(json.dumps(credentials.cognito_public_jwks()["keys"][0]))
    return public.public_bytes(serialization.Encoding.PEM,  # type: ignore[union-attr]
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def forged_tokens(victim: User) -> dict[str, str]:
    """Bearer values that must all be refused, each claiming to be ``victim`` (and an admin where it can)."""
    real = claims_of(victim.token)
    now = int(time.time())
    fresh = {**real, "iat": now, "exp": now + 3600, "jti": str(uuid.uuid4()), "cognito:groups": ["admin"]}
    install = credentials.cognito_private_jwk()
    header, _, signature = victim.token.split(".")
    tampered_claims = {**real, "cognito:groups": ["admin"]}
    return {
        "garbage": "not-a-jwt",
        "garbage-3-parts": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
        "alg-none": unsigned(fresh),
        "alg-None": unsigned(fresh, "None"),
        "hs256-guessed-secret": hs256(fresh, b"secret"),
        "hs256-public-key-confusion": hs256(fresh, public_pem()),
        "tampered-payload": f"{header}.{_b64(json.dumps(tampered_claims).encode())}.{signature}",
        "expired": rs256({**fresh, "iat": now - 7200, "exp": now - 3600}, install),
        "not-yet-valid": rs256({**fresh, "nbf": now + 3600}, install),
        "wrong-audience": rs256({**fresh, "client_id": "someone-elses-app-client", "aud": "someone-elses"}, install),
        "wrong-issuer": rs256({**fresh, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_attacker"},
                              install),
        "no-expiry": rs256({k: v for k, v in fresh.items() if k != "exp"}, install),
        "moto-bundled-key": rs256(fresh, moto_bundled_private_jwk()),
    }


# --- a user's money, to prove nothing moved -------------------------------------------------------------------

def money(user: User) -> dict[str, Any]:
    """The wallet's buckets and every position: what an attack must leave exactly as it was."""
    w = user.get("/wallet")
    p = user.get("/wallet/positions")
    assert w.status == 200 and p.status == 200, (w.body, p.body)
    buckets = {k: w.body[k] for k in ("availableCents", "reservedCents", "receivableCents", "payableCents")}
    positions = {i["ticker"]: (i["availableQuantity"], i["reservedQuantity"], i["receivableQuantity"])
                 for i in p.body["items"]}
    return {"cash": buckets, "positions": positions}


def statement(user: User) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        r = user.get("/wallet/statement?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r.body
        lines.extend(r.body["items"])
        cursor = r.body.get("nextCursor")
        if not cursor:
            return lines


def statement_sums(user: User) -> dict[tuple[str, str], int]:
    """Per (bucket, asset): the sum of the statement's lines, which must equal the wallet's balance."""
    sums: Counter[tuple[str, str]] = Counter()
    for line in statement(user):
        sums[(line["bucket"], line["asset"])] += int(line["amount"])
    return dict(sums)


def assert_ledger_reconciles(user: User) -> None:
    """The wallet's BRL buckets are the sums of its statement; no bucket is negative."""
    m = money(user)
    sums = statement_sums(user)
    for bucket, key in (("available", "availableCents"), ("reserved", "reservedCents"),
                        ("receivable", "receivableCents"), ("payable", "payableCents")):
        assert sums.get((bucket, "BRL"), 0) == m["cash"][key], (bucket, sums, m)
        assert m["cash"][key] >= 0, m
    for ticker, quantities in m["positions"].items():
        assert all(q >= 0 for q in quantities), (ticker, quantities)
    # and the wallet's own check: every balance is the sum of its postings, every entry balances
    from mybroker.db import engine
    from mybroker.wallet.mysql import MySqlStore
    from mybroker.wallet.service import Wallet

    from local_runtime import services as svc

    assert Wallet(MySqlStore(engine(svc.mysql_url("wallet")))).reconcile(user.user_id) == []
