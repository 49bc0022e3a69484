"""API Gateway HTTP API, locally: routes, the Cognito JWT authorizer and payload format 2.0.

Each request becomes the event API Gateway would send (``version`` 2.0) and is invoked through the
function's execution environments; the function's answer is mapped back the way API Gateway maps it.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from infra.declarations import Route
from local_runtime import credentials
from local_runtime.environment import ACCOUNT, REGION
from local_runtime.lambdas import InvokeResult, LambdaService, Throttled
from local_runtime.sigv4 import SignatureError
from local_runtime.sigv4 import verify as verify_sigv4

access_log = logging.getLogger("local_runtime.http")
MAX_BODY = 10 * 1024 * 1024  # HTTP API's request limit
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded", "+json", "+xml")


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def compile_route(route: Route) -> CompiledRoute:
    parts = []
    literal = 0
    for segment in route.path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
            literal += 1
    return CompiledRoute(route, re.compile("^/" + "/".join(parts) + "$"), literal)


class Router:
    """API Gateway's selection: the most specific match wins (literal segments before variables)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = sorted((compile_route(r) for r in routes), key=lambda c: -c.literal_segments)

    def match(self, method: str, path: str) -> tuple[CompiledRoute, dict[str, str]] | None:
        for c in self.routes:
            if c.route.method != method:
                continue
            m = c.pattern.match(path)
            if m:
                return c, dict(m.groupdict())
        return None

    def path_exists(self, path: str) -> bool:
        return any(c.pattern.match(path) for c in self.routes)


class JwtAuthorizer:
    """API Gateway's JWT authorizer: a Bearer token from ``Authorization``, checked for signature (JWKS),
    issuer, audience (``aud``, or ``client_id`` on access tokens), expiry and not-before."""

    def __init__(self, issuer: str, audiences: Sequence[str], jwks_url: str) -> None:
        self.issuer = issuer
        self.audiences = set(audiences)
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300)
        # tokens whose signature, issuer and audience were checked: their claims, until they expire
        self._verified: dict[str, dict[str, Any]] = {}
        self._verified_max = 10_000

    def verify(self, authorization: str | None) -> dict[str, Any] | None:
        if not authorization:
            return None
        token = authorization[7:] if authorization.lower().startswith("bearer ") else authorization
        known = self._verified.get(token)
        if known is not None:
            now = time.time()
            if float(known["exp"]) > now and float(known.get("nbf", 0)) <= now:
                return known
            self._verified.pop(token, None)
            return None
        claims = self._check(token)
        if claims is not None:
            if len(self._verified) >= self._verified_max:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _check(self, token: str) -> dict[str, Any] | None:
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except (jwt.PyJWTError, OSError):
            return None
        audience = claims.get("aud", claims.get("client_id"))
        audiences = set(audience) if isinstance(audience, list) else {audience}
        if not audiences & self.audiences:
            return None
        return claims


class IamAuthorizer:
    """API Gateway's AWS_IAM authorization: a SigV4 signature (service ``execute-api``) made with the access
    key of one of the system's functions. Each function's key is derived from the install's secret
    (``local_runtime.credentials``), so a key maps back to exactly one function."""

    def __init__(self, functions: Iterable[str], region: str = REGION, account: str = ACCOUNT) -> None:
        self.by_key = {credentials.access_key_id(f): f for f in functions}
        self.region = region
        self.account = account

    def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """The calling function, or None when the request is not signed by one of the functions' keys."""
        host = next((v for k, v in headers.items() if k.lower() == "host"), None)
        if host is None:
            return None
        try:
            signed = verify_sigv4(method, f"http://{host}{target}", headers, body,
                                  lambda key: credentials.secret_for(key) if key in self.by_key else None,
                                  service="execute-api", region=self.region)
        except SignatureError as exc:
            access_log.info("IAM authorization refused: %s", exc)
            return None
        return self.by_key[signed.access_key_id]

    def identity(self, function: str) -> dict[str, Any]:
        """``requestContext.authorizer.iam`` as API Gateway fills it for a function's role session."""
        user_id = f"{credentials.role_id(function)}:{function}"
        return {
            "accessKey": credentials.access_key_id(function),
            "accountId": self.account,
            "callerId": user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": credentials.role_session_arn(function, self.account),
            "userId": user_id,
        }


def claim_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """API Gateway hands claims to the function as strings; lists look like ``[a b]``."""
    out: dict[str, str] = {}
    for k, v in claims.items():
        if isinstance(v, list):
            out[k] = "[" + " ".join(str(x) for x in v) + "]"
        else:
            out[k] = str(v)
    return out


def is_text(content_type: str) -> bool:
    ct = content_type.split(";")[0].strip().lower()
    return any(ct.startswith(t) or ct.endswith(t) for t in TEXT_TYPES)


def build_event(*, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes,
                compiled: CompiledRoute, path_params: Mapping[str, str], request_id: str, source_ip: str,
                domain: str, claims: Mapping[str, Any] | None,
                iam: Mapping[str, Any] | None = None) -> dict[str, Any]:
    lowered: dict[str, str] = {}
    for k, v in headers.items():
        key = k.lower()
        lowered[key] = f"{lowered[key]},{v}" if key in lowered else v
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": compiled.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0].split(":")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": compiled.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in lowered:
        event["cookies"] = [c.strip() for c in lowered.pop("cookie").split(";") if c.strip()]
    if raw_query:
        params: dict[str, str] = {}
        for k, v in parse_qsl(raw_query, keep_blank_values=True):
            params[k] = f"{params[k]},{v}" if k in params else v
        event["queryStringParameters"] = params
    if path_params:
        event["pathParameters"] = dict(path_params)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claim_strings(claims), "scopes": None}}
    if iam is not None:
        event["requestContext"]["authorizer"] = {"iam": dict(iam)}
    if body:
        if is_text(lowered.get("content-type", "text/plain")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, body: Any, request_id: str, extra: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), ("apigw-requestid", request_id), *extra],
                        json.dumps(body).encode())


def map_result(result: InvokeResult, request_id: str) -> HttpResponse:
    """Payload format 2.0 response mapping, including its inference for answers without ``statusCode``."""
    if result.function_error is not None:
        return json_response(500, {"message": "Internal Server Error"}, request_id)
    try:
        value = result.json()
    except ValueError:
        return json_response(500, {"message": "Internal Server Error"}, request_id)
    if isinstance(value, dict) and "statusCode" in value:
        headers = [(str(k).lower(), str(v)) for k, v in (value.get("headers") or {}).items()]
        for name, values in (value.get("multiValueHeaders") or {}).items():
            headers.extend((str(name).lower(), str(v)) for v in values)
        headers.extend(("set-cookie", str(c)) for c in value.get("cookies") or [])
        raw = value.get("body")
        if raw is None:
            body = b""
        elif value.get("isBase64Encoded"):
            body = base64.b64decode(raw)
        else:
            body = str(raw).encode()
        if not any(k == "content-type" for k, _ in headers) and body:
            headers.append(("content-type", "application/json"))
        headers.append(("apigw-requestid", request_id))
        try:
            status = int(value["statusCode"])
        except (TypeError, ValueError):
            return json_response(500, {"message": "Internal Server Error"}, request_id)
        return HttpResponse(status, headers, body)
    body = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return HttpResponse(200, [("content-type", "application/json"), ("apigw-requestid", request_id)], body)


ControlHandler = Callable[[str, str, bytes], HttpResponse | None]
WebHandler = Callable[[str, str, Mapping[str, str], bytes], HttpResponse | None]


class FramingError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def declared_length(content_length: Sequence[str], transfer_encoding: Sequence[str], limit: int = MAX_BODY) -> int:
    """The body's length from the request's framing headers, or ``FramingError`` (400 when they are
    malformed or conflicting, 413 over the limit), decided before any of the body is read."""
    if transfer_encoding:
        raise FramingError(400, "UNSUPPORTED_TRANSFER_ENCODING",
                           "Transfer-Encoding is not supported; send the body with a Content-Length")
    if not content_length:
        return 0
    if len(content_length) > 1 or "," in content_length[0]:
        raise FramingError(400, "DUPLICATE_CONTENT_LENGTH", "one Content-Length header with one value, please")
    value = content_length[0].strip()
    if not (value.isascii() and value.isdigit()):
        raise FramingError(400, "INVALID_CONTENT_LENGTH", "Content-Length must be a non-negative integer")
    if len(value) > 12 or int(value) > limit:
        raise FramingError(413, "PAYLOAD_TOO_LARGE", f"the body exceeds {limit} bytes")
    return int(value)


def header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def control_refusal(method: str, headers: Mapping[str, str], secret: str, request_id: str) -> HttpResponse | None:
    """Why a ``/_local/*`` request is refused, if it is: without the runtime's secret, from another site
    (a browser tells with ``Origin`` and ``Sec-Fetch-Site``), or a POST whose body is not JSON (a page can
    send a ``text/plain`` POST anywhere without asking)."""
    given = header(headers, credentials.CONTROL_HEADER.lower()) or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return json_response(403, {"code": "LOCAL_SECRET_REQUIRED",
                                   "message": f"send the runtime's secret (var/secrets/control-secret) in "
                                              f"{credentials.CONTROL_HEADER}"}, request_id)
    site = (header(headers, "sec-fetch-site") or "").strip().lower()
    origin = header(headers, "origin")
    host = header(headers, "host") or ""
    if site not in ("", "same-origin", "none") or (origin is not None and origin not in
                                                    (f"http://{host}", f"https://{host}")):
        return json_response(403, {"code": "CROSS_SITE_REFUSED",
                                   "message": "the control routes refuse cross-site requests"}, request_id)
    content_type = (header(headers, "content-type") or "").split(";")[0].strip().lower()
    if method not in ("GET", "HEAD") and content_type != "application/json":
        return json_response(415, {"code": "JSON_REQUIRED",
                                   "message": "control requests must be sent as application/json"}, request_id)
    return None


class HttpApi:
    """The routes of the system on one local port, plus the runtime's own ``/_local/*`` control routes
    (which need the runtime's secret)."""

    def __init__(self, routes: Sequence[Route], lambdas: LambdaService, authorizer: JwtAuthorizer | None,
                 control: ControlHandler | None = None, iam: IamAuthorizer | None = None,
                 control_secret: str | None = None, web: WebHandler | None = None) -> None:
        self.router = Router(routes)
        self.web = web  # the web app (local_runtime/web.py): only what no route matches
        self.lambdas = lambdas
        self.authorizer = authorizer
        self.control = control
        self.iam = iam if iam is not None else IamAuthorizer(lambdas.pools)
        self.control_secret = control_secret if control_secret is not None else credentials.control_secret()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, source_ip: str,
               domain: str) -> HttpResponse:
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        split = urlsplit(target)
        path = split.path or "/"
        if path.startswith("/_local/") and self.control is not None:
            refusal = control_refusal(method, headers, self.control_secret, request_id)
            if refusal is not None:
                return refusal
            answer = self.control(method, target, body)
            if answer is not None:
                return answer
        if len(body) > MAX_BODY:
            return json_response(413, {"message": "Request Entity Too Large"}, request_id)
        found = self.router.match(method, path)
        if found is None:
            page = self.web(method, path, headers, body) if self.web is not None else None
            return page if page is not None else json_response(404, {"message": "Not Found"}, request_id)
        compiled, params = found
        claims = None
        iam = None
        auth = compiled.route.auth
        if auth == "iam":
            caller = self.iam.verify(method, target, headers, body)
            if caller is None or caller not in compiled.route.iam_callers:
                return json_response(403, {"message": "Forbidden"}, request_id)
            iam = self.iam.identity(caller)
        elif auth == "jwt":
            claims = self.authorizer.verify(header(headers, "authorization")) if self.authorizer else None
            if claims is None:
                return json_response(401, {"message": "Unauthorized"}, request_id,
                                     [("www-authenticate", 'Bearer error="invalid_token"')])
        event = build_event(method=method, raw_path=path, raw_query=split.query, headers=headers, body=body,
                            compiled=compiled, path_params=params, request_id=request_id, source_ip=source_ip,
                            domain=domain, claims=claims, iam=iam)
        try:
            result = self.lambdas.invoke(compiled.route.function, event)
        except Throttled:
            return json_response(429, {"message": "Too Many Requests"}, request_id)
        return map_result(result, request_id)

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "mybroker-local-apigw"
            # Headers and body leave in one segment (a buffered writer, flushed once per request by
            # handle_one_request) with TCP_NODELAY: written separately, the body waited for the client's
            # delayed ACK of the headers (Nagle), 40 ms on every keep-alive response
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024
            timeout = 60  # a client that stops sending mid-request does not hold a thread forever

            def _send(self, resp: HttpResponse) -> None:
                self.send_response(resp.status, HTTPStatus(resp.status).phrase if resp.status in
                                   HTTPStatus._value2member_map_ else "")
                for k, v in resp.headers:
                    self.send_header(k, v)
                self.send_header("content-length", str(len(resp.body)))
                if self.close_connection:
                    self.send_header("connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.body)

            def _refuse_framing(self, error: FramingError) -> None:
                """Answers at once, without reading the body, and closes the connection (what follows the
                headers cannot be framed); the client's unread bytes are drained for a moment so that it
                reads the answer instead of a reset."""
                self.close_connection = True
                self._send(json_response(error.status, {"code": error.code, "message": str(error)}, "local"))
                self.log_message('"%s %s" %d framing: %s', self.command, self.path, error.status, error)
                try:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)
                    self.connection.settimeout(2)
                    drained = 0
                    while drained < 4 * MAX_BODY and (chunk := self.connection.recv(65536)):
                        drained += len(chunk)
                except OSError:
                    pass

            def _serve(self) -> None:
                try:
                    length = declared_length(self.headers.get_all("content-length") or [],
                                             self.headers.get_all("transfer-encoding") or [])
                except FramingError as error:
                    self._refuse_framing(error)
                    return
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    self.close_connection = True  # the client closed before sending the whole body
                    return
                started = time.perf_counter()
                resp = api.handle(self.command, self.path, dict(self.headers.items()), body,
                                  self.client_address[0], self.headers.get("host", f"{host}:{port}"))
                self._send(resp)
                self.log_message('"%s %s" %d %.1fms', self.command, self.path, resp.status,
                                 (time.perf_counter() - started) * 1000)

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (ConnectionResetError, BrokenPipeError, TimeoutError):
                    self.close_connection = True  # the client went away; nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                return None  # _serve logs one line per request, with its duration

            def log_message(self, format: str, *args: Any) -> None:
                access_log.info(format, *args)

        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer.allow_reuse_address = True
        # the listen backlog (socketserver's default is 5): with SYN cookies on, a burst of clients past it got
        # their connections reset once the accept queue was full (40 parallel requests: a few resets a round)
        ThreadingHTTPServer.request_queue_size = 256
        return ThreadingHTTPServer((host, port), Handler)
