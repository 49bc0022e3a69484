"""Every declared route (``infra/declarations.py``: ``SYSTEM.routes``) against every identity that must not get
in: no token, garbage, ``alg: none``, HS256 (a guessed secret, and the public key as the secret), a tampered
payload, expired, not yet valid, no expiry, another app client, another issuer, a token minted with the key
pair the moto package ships; a user's own valid token on internal routes, and a SigV4 signature of each function
the route does not name in ``iam_callers``. Cognito routes answer 401, IAM routes 403; never 2xx, never 5xx.

Every forged token claims to be the victim (and an admin), and every write carries a body that would succeed:
so a gap would move the victim's money, which the module checks did not move. Then, with valid tokens: another
user's order is 404 to read, cancel and replace; a non-admin cannot create or edit assets; an account id slipped
into the query, a header or the body is ignored."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from mybroker.assets.catalog import isin_check_digit
from mybroker.orders.domain import rejection_band

from infra.declarations import SYSTEM, Route
from local_runtime import credentials
from tests.e2e.orders.conftest import reference_cents, wait_for  # noqa: F401  (fixture re-exported)
from tests.fixtures.users import User, new_user
from tests.security.support import as_json, attack, claims_of, forged_tokens, money, rs256, signed_headers

pytestmark = [pytest.mark.stack, pytest.mark.security]

JWT_ROUTES = [r for r in SYSTEM.routes if r.auth == "jwt"]
IAM_ROUTES = [r for r in SYSTEM.routes if r.auth == "iam"]
PUBLIC_ROUTES = [r for r in SYSTEM.routes if r.auth == "none"]
ADMIN_ROUTES = {("POST", "/assets"), ("PATCH", "/assets/{ticker}")}


def route_id(r: Route) -> str:
    return f"{r.method} {r.path}"


class Scene:
    """The victim (funded, one resting buy) and the attacker (a user of their own)."""

    def __init__(self, victim: User, attacker: User, order: dict[str, Any], price: int) -> None:
        self.victim, self.attacker, self.order, self.price = victim, attacker, order, price
        self.tokens = forged_tokens(victim)
        self.petr4_name = victim.get("/assets/PETR4").body["name"]

    def path(self, r: Route) -> str:
        values = {"orderId": self.order["orderId"], "ticker": "PETR4", "tradeDate": date.today().isoformat(),
                  "month": date.today().strftime("%Y-%m"), "year": str(date.today().year)}
        path = r.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {r.path}: add one"
        if r.method == "DELETE" and r.path.startswith("/internal/wallet/"):
            path += f"?accountId={self.victim.user_id}"
        return path

    def body(self, r: Route) -> Any:
        """A body that would succeed for an authorized caller, acting on the victim where it can."""
        key = (r.method, r.path)
        isin = "BRZZZZACNOR"
        return {
            ("POST", "/orders"): {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                  "priceCents": self.price},
            ("PATCH", "/orders/{orderId}"): {"quantity": 200},
            ("POST", "/assets"): {"ticker": "ZZZZ3", "name": "Attacker SA", "isin": isin + str(isin_check_digit(isin)),
                                  "kind": "SHARE_ON"},
            # the name it already has: were it let through, the answer (200) fails the test, and nothing changes
            ("PATCH", "/assets/{ticker}"): {"name": self.petr4_name},
            ("POST", "/wallet/deposits"): {"amountCents": 100, "idempotencyKey": uuid.uuid4().hex},
            ("POST", "/wallet/withdrawals"): {"amountCents": 100_000, "idempotencyKey": uuid.uuid4().hex},
            ("POST", "/internal/wallet/reservations"): {
                "accountId": self.victim.user_id, "orderId": str(uuid.uuid4()), "ticker": "PETR4", "side": "BUY",
                "quantity": 100, "priceCents": 100},
            ("PUT", "/internal/wallet/reservations/{orderId}"): {"accountId": self.victim.user_id, "quantity": 100,
                                                                 "priceCents": 1, "replaceSeq": 1},
        }.get(key)


@pytest.fixture(scope="module")
def scene(trading_session: object, reference_cents: int) -> Iterator[Scene]:  # noqa: F811
    victim = new_user("sec-victim")
    assert victim.post("/wallet/deposits", {"amountCents": 5_000_000, "idempotencyKey": "seed"}).status == 201
    price = rejection_band(reference_cents, 10).lower  # rests: far below any ask
    placed = victim.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                     "priceCents": price})
    assert placed.status == 201, placed.body
    order = wait_for(lambda: (lambda b: b if b["status"] == "NEW" else None)(
        victim.get(f"/orders/{placed.body['orderId']}").body))
    s = Scene(victim, new_user("sec-attacker"), order, price)
    before = money(victim)
    yield s
    after_order = victim.get(f"/orders/{order['orderId']}").body
    victim.call("DELETE", f"/orders/{order['orderId']}")
    # nothing any identity sent moved the victim's money or changed the victim's order
    assert money(victim) == before
    assert (after_order["status"], after_order["quantity"], after_order["priceCents"]) == (
        "NEW", order["quantity"], order["priceCents"])


def test_only_the_docs_are_public() -> None:
    assert PUBLIC_ROUTES and all(r.method == "GET" and r.path.startswith("/docs/") for r in PUBLIC_ROUTES)
    assert all(r.path.startswith("/internal/") for r in IAM_ROUTES)
    assert not [r for r in JWT_ROUTES if r.path.startswith("/internal/")]


@pytest.mark.parametrize("route", JWT_ROUTES, ids=route_id)
def test_cognito_routes_refuse_every_forged_identity(scene: Scene, route: Route) -> None:
    path, (ctype, body) = scene.path(route), as_json(scene.body(route))
    identities: dict[str, dict[str, str]] = {"no-token": {}, "empty-bearer": {"Authorization": "Bearer "}}
    identities.update({name: {"Authorization": f"Bearer {t}"} for name, t in scene.tokens.items()})
    # a service's SigV4 signature is not a user: no route of the users' answers to it
    identities["sigv4-orders-api"] = signed_headers("orders-api", route.method, path, body, ctype)
    wrong = {}
    for name, headers in identities.items():
        r = attack("matrix: cognito routes", route.method, path, headers={**ctype, **headers}, body=body)
        if r.status != 401:
            wrong[name] = (r.status, r.body)
    assert not wrong, wrong


@pytest.mark.parametrize("route", IAM_ROUTES, ids=route_id)
def test_internal_routes_refuse_users_and_other_functions(scene: Scene, route: Route) -> None:
    path, (ctype, body) = scene.path(route), as_json(scene.body(route))
    identities: dict[str, dict[str, str]] = {"no-token": {}}
    identities.update({name: {"Authorization": f"Bearer {t}"} for name, t in scene.tokens.items()})
    identities["victim-own-token"] = {"Authorization": f"Bearer {scene.victim.token}"}
    identities["attacker-own-token"] = {"Authorization": f"Bearer {scene.attacker.token}"}
    for fn in SYSTEM.functions:
        if fn.name not in route.iam_callers:
            identities[f"sigv4-{fn.name}"] = signed_headers(fn.name, route.method, path, body, ctype)
    wrong = {}
    for name, headers in identities.items():
        r = attack("matrix: internal routes", route.method, path, headers={**ctype, **headers}, body=body)
        if r.status != 403:
            wrong[name] = (r.status, r.body)
    assert not wrong, wrong


def test_the_declared_caller_does_get_through(scene: Scene) -> None:
    """The control: signatures made by this suite are valid ones, so the refusals above are the routes'."""
    path = f"/internal/orders/{scene.order['orderId']}"
    r = attack("matrix: controls", "GET", path, headers=signed_headers("wallet-reservation-sweeper", "GET", path,
                                                                       None))
    assert r.status == 200 and r.body["orderId"] == scene.order["orderId"], r.body
    r = attack("matrix: controls", "GET", "/wallet", headers={"Authorization": f"Bearer {scene.attacker.token}"})
    assert r.status == 200 and r.body["accountId"] == scene.attacker.user_id
    # each forgery differs from a good token by its one flaw: the same claims, fresh and signed with the install's
    # key, are let in (so "expired" is refused for its expiry, "wrong-audience" for its audience, ...)
    claims = {**claims_of(scene.victim.token), "exp": int(time.time()) + 600, "jti": str(uuid.uuid4())}
    good = rs256(claims, credentials.cognito_private_jwk())
    r = attack("matrix: controls", "GET", "/wallet", headers={"Authorization": f"Bearer {good}"})
    assert r.status == 200 and r.body["accountId"] == scene.victim.user_id


@pytest.mark.parametrize("route", [r for r in JWT_ROUTES if "{orderId}" in r.path], ids=route_id)
def test_another_users_order_is_not_found(scene: Scene, route: Route) -> None:
    path, (ctype, body) = scene.path(route), as_json(scene.body(route))
    r = attack("matrix: cross-user", route.method, path,
               headers={**ctype, "Authorization": f"Bearer {scene.attacker.token}"}, body=body)
    assert r.status == 404 and r.body["code"] == "ORDER_NOT_FOUND", (r.status, r.body)  # not even "it exists"


@pytest.mark.parametrize("route", [r for r in JWT_ROUTES if (r.method, r.path) in ADMIN_ROUTES], ids=route_id)
def test_a_non_admin_cannot_edit_the_catalog(scene: Scene, route: Route) -> None:
    path, (ctype, body) = scene.path(route), as_json(scene.body(route))
    r = attack("matrix: non-admin", route.method, path,
               headers={**ctype, "Authorization": f"Bearer {scene.attacker.token}"}, body=body)
    assert r.status == 403 and r.body["code"] == "ADMIN_ONLY", (r.status, r.body)


@pytest.mark.parametrize("where", ["query", "header", "body"])
def test_an_account_id_slipped_into_the_request_is_ignored(scene: Scene, where: str) -> None:
    victim_id = scene.victim.user_id
    auth = {"Authorization": f"Bearer {scene.attacker.token}"}
    spoof = {f"X-{h}": victim_id for h in ("Account-Id", "User-Id", "Amzn-Oidc-Identity", "Forwarded-User")}
    for path in ("/wallet", "/wallet/positions", "/wallet/statement", "/orders"):
        if where == "query":
            r = attack("matrix: slipped id", "GET", f"{path}?accountId={victim_id}&account_id={victim_id}&sub="
                       f"{victim_id}", headers=auth)
        elif where == "header":
            r = attack("matrix: slipped id", "GET", path, headers={**auth, **spoof})
        else:
            continue
        assert r.status in (200, 422), (path, r.status, r.body)
        if r.status == 200:
            assert victim_id not in json.dumps(r.body), (path, r.body)  # the attacker's own data, or nothing
    if where == "body":
        for path, amount in (("/wallet/withdrawals", 1), ("/wallet/deposits", 1)):
            ctype, body = as_json({"amountCents": amount, "idempotencyKey": uuid.uuid4().hex, "accountId": victim_id,
                                   "account_id": victim_id})
            r = attack("matrix: slipped id", "POST", path, headers={**ctype, **auth, **spoof}, body=body)
            assert r.status in (201, 422), (path, r.status, r.body)  # a refusal, or the attacker's own transfer
            if r.status == 201:
                assert victim_id not in json.dumps(r.body), r.body
