"""Property-based fuzzing (Hypothesis) of every operation each service's OpenAPI document declares
(``/docs/<service>?format=json``, served by the running functions), as a signed-in user (internal operations
with their declared caller's SigV4 signature). Path parameters, query strings and bodies are drawn from the
schema (valid values, values just outside its bounds) mixed with hostile JSON: huge and negative integers,
floats, NaN, booleans for numbers, numbers as strings, deep nesting, non-object bodies, raw bytes, oversized
bodies, unknown and duplicated keys, stray query parameters. The property: never a 5xx, and every refusal a
function gives carries a machine-readable ``code`` (API Gateway's own 401/403/404/413 carry ``message`` only,
as on AWS).

Bounded: ``SECURITY_FUZZ_EXAMPLES`` examples per operation (default 60)."""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mybroker.orders.domain import rejection_band

from infra.declarations import SYSTEM, Route
from tests.e2e.orders.conftest import reference_cents  # noqa: F401  (fixture re-exported)
from tests.fixtures.users import User, new_user, state
from tests.security.support import TALLY, send, signed_headers

pytestmark = [pytest.mark.stack, pytest.mark.security]

EXAMPLES = int(os.environ.get("SECURITY_FUZZ_EXAMPLES", "60"))
DOCS = [r.path for r in SYSTEM.routes if r.auth == "none" and r.path.startswith("/docs/")]
FUZZED = [r for r in SYSTEM.routes if r.auth != "none"]
GATEWAY_STATUSES = {401, 403, 404, 413}  # answered by the HTTP API itself, before any function

# --- hostile JSON ---------------------------------------------------------------------------------------------

HUGE_INTS = [0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**100]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.5, 100.0, 1e308, -0.0]),
    st.text(max_size=40), st.sampled_from(["100", " 100 ", "1e3", "0x10", "-5", "", "null", "true", "PETR4",
                                           "9999-12-31", "2026-02-30", "0000-01-01", "\u0000", "\ud800"]),
)
HOSTILE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                       max_leaves=12)
RAW_BODIES = st.one_of(
    st.binary(max_size=120),
    st.sampled_from([
        b"", b"{", b"{}", b"[]", b"null", b"123", b'"text"', b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 10_000,
        b"1" * 5_000, b'{"quantity": ' + b"9" * 5_000 + b"}", b'{"quantity": NaN}', b'{"quantity": Infinity}',
        b'{"quantity": 1, "quantity": 2}', b'{"ticker": "\\ud800"}', b"\xff\xfe{}", b'{"x": "' + b"a" * 20_000 + b'"}',
        json.dumps([{"ticker": "PETR4", "side": "BUY", "quantity": 100, "priceCents": 100}]).encode(),
    ]),
)


class Schemas:
    """Hypothesis strategies from one OpenAPI document's JSON Schemas (refs resolved)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = {**self.components[schema["$ref"].rsplit("/", 1)[-1]],
                      **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def valid(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        """Values the schema allows, and values just outside its bounds."""
        schema = self.resolve(schema)
        if depth > 4:
            return SCALARS
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return st.one_of([self.valid(s, depth + 1) for s in schema[key]])
        if "enum" in schema:
            return st.one_of(st.sampled_from(schema["enum"]), st.sampled_from([str(schema["enum"][0]).lower(), ""]))
        if "const" in schema:
            return st.just(schema["const"])
        kind = schema.get("type")
        if kind == "integer":
            lo = schema.get("minimum", schema.get("ge"))
            hi = schema.get("maximum", schema.get("le"))
            lo, hi = (int(lo) if lo is not None else None), (int(hi) if hi is not None else None)
            edges = [v for v in (lo, hi, (lo - 1) if lo is not None else None, (hi + 1) if hi is not None else None)
                     if v is not None]
            return st.one_of(st.integers(lo, hi), st.sampled_from(edges or [0]))
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "string":
            return self._string(schema)
        if kind == "array":
            return st.lists(self.valid(schema.get("items", {}), depth + 1), max_size=4)
        if kind == "object" or "properties" in schema:
            return self.obj(schema, depth)
        return HOSTILE

    def _string(self, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        fmt = schema.get("format")
        if fmt == "date":
            return st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["9999-12-31", "2026-13-01"]))
        if fmt == "date-time":
            return st.datetimes().map(lambda d: d.isoformat())
        pattern = schema.get("pattern")
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 40)
        if pattern:
            try:
                re.compile(pattern)
                fitting = st.from_regex(pattern, fullmatch=True).filter(lambda s: lo <= len(s) <= hi)
                return st.one_of(fitting, st.text(min_size=hi + 1, max_size=hi + 3), st.text(max_size=12))
            except re.error:
                pass
        return st.one_of(st.text(min_size=lo, max_size=hi), st.text(min_size=hi + 1, max_size=hi + 3))

    def obj(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
        """Each property valid or hostile, present or not, plus unknown keys now and then."""
        props: dict[str, Any] = schema.get("properties", {})
        fields = {name: st.one_of(self.valid(s, depth + 1), HOSTILE) for name, s in props.items()}
        return st.fixed_dictionaries({}, optional=fields).flatmap(
            lambda d: st.one_of(st.just(d), st.dictionaries(st.text(max_size=10), HOSTILE, max_size=2).map(
                lambda extra: {**extra, **d})))


# --- the operations -------------------------------------------------------------------------------------------

class Operation:
    def __init__(self, route: Route, spec: dict[str, Any], schemas: Schemas) -> None:
        self.route, self.spec, self.schemas = route, spec, schemas
        self.params = [schemas.resolve(p) for p in spec.get("parameters", [])]
        content = (spec.get("requestBody") or {}).get("content", {}).get("application/json")
        self.body_schema: dict[str, Any] | None = content["schema"] if content else None

    def request(self, data: st.DataObject, known_ids: list[str]) -> tuple[str, dict[str, str], bytes | None]:
        path = self.route.path
        query: list[tuple[str, str]] = []
        for p in self.params:
            schema = p.get("schema", {})
            if p["in"] == "path":
                value = data.draw(st.one_of(st.sampled_from(known_ids), self.schemas.valid(schema), HOSTILE)
                                  if p["name"] == "orderId" else st.one_of(self.schemas.valid(schema), HOSTILE))
                text = value if isinstance(value, str) else json.dumps(value)
                path = path.replace("{" + p["name"] + "}", quote(text, safe="") or "x")
            elif p["in"] == "query" and (p.get("required") or data.draw(st.booleans())):
                value = data.draw(st.one_of(self.schemas.valid(schema), HOSTILE, st.sampled_from(
                    ["1" * 400, "-1", "+5", "5_0", "1.0", " 7 ", "9999-12-31", "%00", "\u2028"])))
                query.append((p["name"], value if isinstance(value, str) else json.dumps(value)))
        if data.draw(st.booleans()):  # stray and repeated parameters
            query += data.draw(st.lists(st.tuples(st.sampled_from(["accountId", "limit", "x", "from", "__proto__"]),
                                                  st.text(max_size=20)), max_size=3))
        target = path + ("?" + urlencode(query) if query else "")
        headers: dict[str, str] = {}
        body: bytes | None = None
        if self.body_schema is not None or data.draw(st.integers(0, 9)) == 0:
            choice = data.draw(st.integers(0, 9))
            if self.body_schema is not None and choice < 6:
                body = json.dumps(data.draw(self.schemas.obj(self.schemas.resolve(self.body_schema)))).encode()
            elif choice < 8:
                body = json.dumps(data.draw(HOSTILE)).encode()
            else:
                body = data.draw(RAW_BODIES)
            headers["Content-Type"] = data.draw(st.sampled_from(["application/json"] * 6 + [
                "text/plain", "application/octet-stream", "application/json; charset=latin-1"]))
        if data.draw(st.integers(0, 4)) == 0:
            headers["Idempotency-Key"] = data.draw(st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                                           min_size=1, max_size=120))
        return target, headers, body


@pytest.fixture(scope="module")
def fuzz_user(trading_session: object) -> Iterator[User]:
    u = new_user("sec-fuzz")
    assert u.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": "seed"}).status == 201
    yield u
    for o in u.get("/orders?limit=200").body["items"]:  # what the fuzzing placed: nothing left resting
        if o["status"] in ("NEW", "PENDING_NEW", "PARTIALLY_FILLED"):
            u.call("DELETE", f"/orders/{o['orderId']}")


def handler_openapi(function: str) -> dict[str, Any]:
    """The OpenAPI document of a function no docs route serves (the wallet's internal reservation steps), made
    by its own resolver, as the served ones are."""
    import importlib.util
    import sys

    fn = SYSTEM.function(function)
    module = fn.handler.rsplit(".", 1)[0]
    name = f"security_fuzz_{function.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, f"{fn.code_dir}/{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # pydantic resolves the handler's postponed annotations through it
    spec.loader.exec_module(loaded)
    document: dict[str, Any] = json.loads(loaded.app.get_openapi_json_schema())
    return document


@pytest.fixture(scope="module")
def operations(fuzz_user: User) -> dict[tuple[str, str], Operation]:
    ops: dict[tuple[str, str], Operation] = {}
    documents = []
    for docs in DOCS:
        r = send("GET", f"{docs}?format=json")
        assert r.status == 200 and isinstance(r.body, dict), (docs, r.status)
        documents.append(r.body)
    served = {(m.upper(), p) for d in documents for p, methods in d["paths"].items() for m in methods}
    for fn in sorted({r.function for r in FUZZED if (r.method, r.path) not in served}):
        documents.append(handler_openapi(fn))
    for document in documents:
        schemas = Schemas(document)
        for path, methods in document["paths"].items():
            for method, spec in methods.items():
                route = next((x for x in FUZZED if (x.method, x.path) == (method.upper(), path)), None)
                if route is not None:
                    ops[(route.method, route.path)] = Operation(route, spec, schemas)
    return ops


@pytest.fixture(scope="module")
def known_ids(fuzz_user: User, reference_cents: int) -> list[str]:  # noqa: F811
    """Order ids a path may carry: none, the fuzz user's own resting order and another user's."""
    other = new_user("sec-fuzz-other")
    ids = [str(uuid.uuid4()), "x" * 64]
    for u in (fuzz_user, other):
        assert u.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": "seed"}).status in (200, 201)
        placed = u.post("/orders", {"ticker": "PETR4", "side": "BUY", "orderType": "LIMIT", "quantity": 100,
                                    "priceCents": rejection_band(reference_cents, 10).lower})
        assert placed.status == 201, placed.body
        ids.append(placed.body["orderId"])
    return ids


def test_every_declared_route_is_fuzzed(operations: dict[tuple[str, str], Operation]) -> None:
    """Each route is in its service's OpenAPI, so the fuzzing below reaches all of them (the wallet's internal
    reservation steps have no docs route: their document comes from their handler's resolver)."""
    missing = [f"{r.method} {r.path}" for r in FUZZED if (r.method, r.path) not in operations]
    assert not missing, missing


@pytest.mark.parametrize("route", FUZZED, ids=lambda r: f"{r.method} {r.path}")
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_gets_a_5xx_and_every_refusal_has_a_code(
        operations: dict[tuple[str, str], Operation], fuzz_user: User, known_ids: list[str], route: Route,
        data: st.DataObject) -> None:
    op = operations[(route.method, route.path)]
    target, headers, body = op.request(data, known_ids)
    if route.auth == "iam":
        headers = signed_headers(route.iam_callers[0], route.method, target, body, headers)
    else:
        headers["Authorization"] = f"Bearer {fuzz_user.token}"
    r = send(route.method, target, headers=headers, body=body)
    TALLY.record(f"fuzz: {route.path.split('/')[1]}", f"{route.method} {target[:100]}", r.status)
    assert r.status < 500, (route.method, target, body[:300] if body else None, r.status, r.body)
    if r.status >= 400:
        assert isinstance(r.body, dict), (target, r.status, r.body)
        from_gateway = r.status in GATEWAY_STATUSES and set(r.body) == {"message"}
        assert from_gateway or isinstance(r.body.get("code"), str), (target, r.status, r.body)


# --- framing, below the functions -----------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["Content-Length: -1", "Content-Length: abc", "Content-Length: 99999999999999",
                                     "Content-Length: 5\r\nContent-Length: 6", "Transfer-Encoding: chunked"])
def test_bad_framing_is_answered_at_once(framing: str) -> None:
    """A socket timeout bounds the wait: a server that hung would fail this test, not hold it."""
    host, port = state().get("api_url", "http://127.0.0.1:3000").split("//")[1].split(":")
    with socket.create_connection((host, int(port.rstrip("/"))), timeout=15) as s:
        s.sendall(f"POST /wallet/deposits HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"{framing}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := s.recv(4096)):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    TALLY.record("fuzz: framing", framing, status)
    assert status in (400, 413), answer[:200]


def test_a_burst_of_clients_is_answered_not_reset(fuzz_user: User) -> None:
    """Found by this suite: the local HTTP API listened with socketserver's backlog of 5, and with SYN cookies a
    burst of clients past it had their connections reset (40 parallel requests: a few resets a round)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int | str:
        try:
            return send("GET", "/wallet", headers={"Authorization": f"Bearer {fuzz_user.token}"}).status
        except OSError as exc:
            return type(exc).__name__

    for _ in range(3):
        with ThreadPoolExecutor(max_workers=64) as pool:
            answers = list(pool.map(one, range(64)))
        for a in answers:
            TALLY.record("fuzz: burst", "GET /wallet", a if isinstance(a, int) else 599)
        assert answers == [200] * 64, sorted(map(str, answers))
