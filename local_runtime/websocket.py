"""API Gateway WebSocket API, locally: the ``$connect`` REQUEST authorizer, route selection on
``$request.body.action``, the ``requestContext`` API Gateway sends (``connectionId``, ``routeKey``,
``eventType`` CONNECT/MESSAGE/DISCONNECT, ``domainName``, ``stage``, ``requestTimeEpoch``, ``identity``, the
authorizer's context), route responses, and the ``@connections`` management API (POST/GET/DELETE, SigV4)
that boto3's ``apigatewaymanagementapi`` client talks to. Framing is the ``websockets`` library's.

Two ports: the WebSocket API itself and the management endpoint (its requests carry a body, which a
WebSocket handshake server does not read). Each connection has a bounded outgoing queue written by its own
task, so a post never waits for a client: a client that lets the queue fill is closed (1008) and posts to it
answer 410 GoneException, as posts to any connection that is no more.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from infra.declarations import WebSocketApi
from local_runtime import credentials
from local_runtime.environment import ACCOUNT, REGION
from local_runtime.lambdas import InvokeResult, LambdaService, Throttled
from local_runtime.sigv4 import SignatureError
from local_runtime.sigv4 import verify as verify_sigv4

log = logging.getLogger("local_runtime.websocket")
MAX_FRAME = 32 * 1024  # API Gateway: a client frame is at most 32 KB
MAX_POST = 128 * 1024  # @connections: a posted message is at most 128 KB
IDLE_TIMEOUT_S = 600  # API Gateway closes a connection without client frames for 10 minutes
MAX_LIFETIME_S = 7200  # and any connection after 2 hours
QUEUE_LIMIT = 1000  # frames waiting for one client before it is closed as too slow
_MANAGE_PATH = re.compile(r"^(?:/(?P<stage>[^/@]+))?/@connections/(?P<id>[^/]+)$")


def connection_id() -> str:
    """An id shaped like API Gateway's (12 base64 characters, ending in ``=``)."""
    return base64.b64encode(secrets.token_bytes(8)).decode()[:11] + "="


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class LocalConnection:
    connection_id: str
    source_ip: str
    user_agent: str
    domain: str
    connected_at_ms: int
    authorizer: dict[str, Any]
    subprotocol: str | None = None
    ws: ServerConnection | None = None
    queue: asyncio.Queue[bytes | None] | None = None
    pending: int = 0
    last_active_ms: int = 0
    open: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _multi(items: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in items:
        multi.setdefault(k, []).append(v)
        single[k] = v
    return single, multi


class LocalWebSocketApi:
    """One declared WebSocket API on ``host:port`` (stage ``api.stage``), its management API on
    ``management_port``; functions run through ``lambdas`` (the emulators)."""

    def __init__(self, api: WebSocketApi, lambdas: LambdaService, host: str = "127.0.0.1", port: int = 3001,
                 management_port: int = 3002, queue_limit: int = QUEUE_LIMIT) -> None:
        self.api = api
        self.lambdas = lambdas
        self.host = host
        self.port = port
        self.management_port = management_port
        self.queue_limit = queue_limit
        self.routes = {r.route_key: r for r in api.routes}
        self.connections: dict[str, LocalConnection] = {}
        self._handshakes: dict[int, LocalConnection] = {}
        self.managers = {credentials.access_key_id(f): f for f in api.managers}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._ready = threading.Event()
        self.posts = 0
        self.closed_slow = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def callback_url(self) -> str:
        return f"http://{self.host}:{self.management_port}/{self.api.stage}"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/{self.api.stage}"

    def start(self) -> None:
        self._http = self._management_server()
        self.management_port = self._http.server_address[1]
        t = threading.Thread(target=self._http.serve_forever, name="ws-management", daemon=True)
        t.start()
        self._threads.append(t)
        t = threading.Thread(target=self._run_loop, name="ws-api", daemon=True)
        t.start()
        self._threads.append(t)
        if not self._ready.wait(10):
            raise RuntimeError("the local WebSocket API did not start")

    def _run_loop(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handler, self.host, self.port, process_request=self._process_request,
                         select_subprotocol=self._select_subprotocol, max_size=MAX_FRAME, compression=None,
                         ping_interval=20, ping_timeout=20, server_header="mybroker-local-apigw") as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            reaper = asyncio.create_task(self._reap())
            self._ready.set()
            await self._stop.wait()
            reaper.cancel()

    def stop(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        for t in self._threads:
            t.join(timeout=10)

    # --- events ----------------------------------------------------------------------------------

    def _context(self, conn: LocalConnection, route_key: str, event_type: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time() * 1000)
        rid = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        ctx: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": rid,
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": conn.connected_at_ms,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": rid,
            "domainName": conn.domain,
            "connectionId": conn.connection_id,
            "apiId": "local",
            **extra,
        }
        if conn.authorizer:
            ctx["authorizer"] = dict(conn.authorizer)
        return ctx

    async def _invoke(self, function: str, event: dict[str, Any]) -> InvokeResult | None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self.lambdas.invoke, function, event)
        except Throttled:
            return None

    # --- handshake: authorizer, then $connect ----------------------------------------------------

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        split = urlsplit(request.path)
        headers_list = [(k, v) for k, v in request.headers.raw_items()]
        headers, multi_headers = _multi(headers_list)
        query, multi_query = _multi(parse_qsl(split.query, keep_blank_values=True))
        peer = ws.remote_address
        conn = LocalConnection(connection_id(), str(peer[0]) if peer else "127.0.0.1",
                               request.headers.get("User-Agent", ""),
                               request.headers.get("Host", f"{self.host}:{self.port}"),
                               int(time.time() * 1000), {})
        base: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
        if query:
            base.update(queryStringParameters=query, multiValueQueryStringParameters=multi_query)
        auth_event = {"type": "REQUEST",
                      "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{self.api.stage}/$connect",
                      **base, "stageVariables": {},
                      "requestContext": self._context(conn, "$connect", "CONNECT")}
        started = time.perf_counter()
        result = await self._invoke(self.api.authorizer, auth_event)
        if result is None:
            return ws.respond(429, "Too Many Requests\n")
        if result.function_error is not None:
            unauthorized = b"Unauthorized" in result.payload
            return ws.respond(401 if unauthorized else 500,
                              "Unauthorized\n" if unauthorized else "Internal Server Error\n")
        allowed, context = _policy(result)
        if not allowed:
            return ws.respond(403, "Forbidden\n")
        conn.authorizer = {**context, "integrationLatency": int((time.perf_counter() - started) * 1000)}
        connect = self.routes.get("$connect")
        if connect is not None:
            event = {**base, "requestContext": self._context(conn, "$connect", "CONNECT"), "isBase64Encoded": False}
            answer = await self._invoke(connect.function, event)
            status, answer_headers = _status(answer)
            if status // 100 != 2:
                return ws.respond(status if status >= 400 else 500, "Forbidden\n" if status == 403 else "Error\n")
            chosen = next((v for k, v in answer_headers.items() if k.lower() == "sec-websocket-protocol"), None)
            conn.subprotocol = chosen
        self._handshakes[id(ws)] = conn
        return None

    def _select_subprotocol(self, ws: ServerConnection, subprotocols: Any) -> Any:
        conn = self._handshakes.get(id(ws))
        if conn is None or conn.subprotocol is None:
            return None
        return conn.subprotocol if conn.subprotocol in subprotocols else None

    # --- the connection --------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        conn = self._handshakes.pop(id(ws), None)
        if conn is None:
            await ws.close(1011, "no handshake")
            return
        conn.ws = ws
        conn.queue = asyncio.Queue()
        conn.last_active_ms = int(time.time() * 1000)
        conn.open = True
        self.connections[conn.connection_id] = conn
        writer = asyncio.create_task(self._writer(conn))
        code, reason = 1005, ""
        try:
            async for message in ws:
                conn.last_active_ms = int(time.time() * 1000)
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self._message(conn, text)
        except ConnectionClosed:
            pass
        finally:
            conn.open = False
            self.connections.pop(conn.connection_id, None)
            if ws.close_code is not None:
                code, reason = ws.close_code, ws.close_reason or ""
            conn.queue.put_nowait(None)
            writer.cancel()
            disconnect = self.routes.get("$disconnect")
            if disconnect is not None:
                event = {"headers": {"Host": conn.domain}, "multiValueHeaders": {"Host": [conn.domain]},
                         "requestContext": self._context(conn, "$disconnect", "DISCONNECT",
                                                         disconnectStatusCode=code, disconnectReason=reason),
                         "isBase64Encoded": False}
                await self._invoke(disconnect.function, event)

    async def _message(self, conn: LocalConnection, text: str) -> None:
        try:
            body = json.loads(text)
            action = body.get("action") if isinstance(body, dict) else None
        except (ValueError, RecursionError):  # not JSON, or nested past the parser: API Gateway's $default
            action = None
        key = action if isinstance(action, str) and action in self.routes and not action.startswith("$") \
            else "$default"
        route = self.routes.get(key)
        ctx = self._context(conn, key, "MESSAGE", messageId=base64.b64encode(secrets.token_bytes(8)).decode())
        if route is None:
            self._enqueue(conn, json.dumps({"message": "Forbidden", "connectionId": conn.connection_id,
                                            "requestId": ctx["requestId"]}).encode())
            return
        result = await self._invoke(route.function, {"requestContext": ctx, "body": text, "isBase64Encoded": False})
        if result is None or result.function_error is not None:
            self._enqueue(conn, json.dumps({"message": "Internal server error", "connectionId": conn.connection_id,
                                            "requestId": ctx["requestId"]}).encode())
            return
        if route.returns_response:
            try:
                value = result.json()
            except ValueError:
                return
            body_out = value.get("body") if isinstance(value, dict) else None
            if body_out is not None:
                self._enqueue(conn, str(body_out).encode())

    async def _writer(self, conn: LocalConnection) -> None:
        assert conn.queue is not None and conn.ws is not None
        while True:
            payload = await conn.queue.get()
            if payload is None:
                return
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                await conn.ws.send(payload)
            else:
                await conn.ws.send(text)
            with conn.lock:
                conn.pending -= 1

    def _enqueue(self, conn: LocalConnection, payload: bytes) -> bool:
        """Queues a frame for the client, from any thread; False when the connection is gone or too slow."""
        with conn.lock:
            if not conn.open:
                return False
            if conn.pending >= self.queue_limit:
                conn.open = False
                self.closed_slow += 1
                self._close_soon(conn, 1008, "slow consumer")
                return False
            conn.pending += 1
        assert self.loop is not None and conn.queue is not None
        self.loop.call_soon_threadsafe(conn.queue.put_nowait, payload)
        return True

    def _close_soon(self, conn: LocalConnection, code: int, reason: str) -> None:
        if self.loop is None or conn.ws is None:
            return
        ws = conn.ws
        self.loop.call_soon_threadsafe(self._background, ws.close(code, reason))

    def _background(self, coro: Any) -> None:
        """Runs ``coro`` on the loop, keeping a reference until it is done (called on the loop)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(15)
            now = time.time() * 1000
            for conn in list(self.connections.values()):
                if now - conn.last_active_ms > IDLE_TIMEOUT_S * 1000 or now - conn.connected_at_ms > \
                        MAX_LIFETIME_S * 1000:
                    with conn.lock:
                        conn.open = False
                    if conn.ws is not None:
                        self._background(conn.ws.close(1001, "Going away"))

    # --- @connections ----------------------------------------------------------------------------

    def manage(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str],
                                                                                                 bytes]:
        """The management API's answer: status, headers, body."""
        split = urlsplit(target)
        found = _MANAGE_PATH.match(split.path)
        if found is None or (found.group("stage") not in (None, self.api.stage)):
            return _error(404, "NotFoundException", "Not Found")
        host = next((v for k, v in headers.items() if k.lower() == "host"), f"{self.host}:{self.management_port}")
        try:
            verify_sigv4(method, f"http://{host}{target}", headers, body,
                         lambda key: credentials.secret_for(key) if key in self.managers else None,
                         service="execute-api", region=REGION)
        except SignatureError as exc:
            log.info("@connections refused: %s", exc)
            return _error(403, "ForbiddenException", "Forbidden")
        conn = self.connections.get(unquote(found.group("id")))
        if conn is None or not conn.open:
            return _error(410, "GoneException", None)
        if method == "POST":
            if len(body) > MAX_POST:
                return _error(413, "PayloadTooLargeException", f"Message too long (max {MAX_POST} bytes)")
            if not self._enqueue(conn, body):
                return _error(410, "GoneException", None)
            self.posts += 1
            return 200, {}, b""
        if method == "GET":
            return 200, {"content-type": "application/json"}, json.dumps({
                "connectedAt": _iso(conn.connected_at_ms),
                "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
                "lastActiveAt": _iso(conn.last_active_ms)}).encode()
        if method == "DELETE":
            with conn.lock:
                conn.open = False
            self._close_soon(conn, 1000, "")
            return 204, {}, b""
        return _error(405, "MethodNotAllowed", "Method Not Allowed")

    def _management_server(self) -> ThreadingHTTPServer:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "mybroker-local-apigw"
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024
            timeout = 60

            def _serve(self) -> None:
                lengths = self.headers.get_all("content-length") or []
                if self.headers.get_all("transfer-encoding") or len(lengths) > 1 or \
                        (lengths and not lengths[0].strip().isdigit()):
                    self.close_connection = True
                    self._answer(*_error(400, "BadRequestException", "bad framing"))
                    return
                length = int(lengths[0]) if lengths else 0
                if length > MAX_POST:
                    self.close_connection = True
                    self._answer(*_error(413, "PayloadTooLargeException", "Message too long"))
                    return
                body = self.rfile.read(length) if length else b""
                self._answer(*api.manage(self.command, self.path, dict(self.headers.items()), body))

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                return None

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)

        ThreadingHTTPServer.daemon_threads = True
        server = ThreadingHTTPServer((self.host, self.management_port), Handler)
        server.daemon_threads = True
        return server


def _error(status: int, kind: str, message: str | None) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", "x-amzn-ErrorType": kind}, \
        json.dumps({"message": message}).encode()


def _policy(result: InvokeResult) -> tuple[bool, dict[str, Any]]:
    """Whether a REQUEST authorizer's answer allows ``$connect``, and the context it passes on."""
    try:
        value = result.json()
    except ValueError:
        return False, {}
    if not isinstance(value, dict):
        return False, {}
    statements = (value.get("policyDocument") or {}).get("Statement") or []
    effects = [str(s.get("Effect", "")).lower() for s in statements if isinstance(s, dict)]
    allowed = "allow" in effects and "deny" not in effects
    context = {str(k): v for k, v in (value.get("context") or {}).items() if isinstance(v, str | int | float | bool)}
    context["principalId"] = str(value.get("principalId", ""))
    return allowed, context


def _status(result: InvokeResult | None) -> tuple[int, dict[str, str]]:
    if result is None:
        return 429, {}
    if result.function_error is not None:
        return 500, {}
    try:
        value = result.json()
    except ValueError:
        return 500, {}
    if isinstance(value, dict) and "statusCode" in value:
        try:
            return int(value["statusCode"]), {str(k): str(v) for k, v in (value.get("headers") or {}).items()}
        except (TypeError, ValueError):
            return 500, {}
    return 200, {}


def ws_port() -> int:
    return int(os.environ.get("MYBROKER_WS_PORT", "3001"))


def ws_management_port() -> int:
    return int(os.environ.get("MYBROKER_WS_MANAGEMENT_PORT", "3002"))


__all__ = ["Headers", "LocalWebSocketApi", "ws_management_port", "ws_port"]
