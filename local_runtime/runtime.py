"""The local runtime: every function in its emulator pool, the HTTP API, the schedules, the event source
mappings and the engine service, in one supervised process. ``/_local/*`` routes let tests and demos drive
the clock, fire schedules and invoke functions directly."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.declarations import System
from local_runtime import services as svc
from local_runtime.environment import function_environment, service_environment
from local_runtime.esm import KafkaPoller, RabbitMqPoller
from local_runtime.http_api import HttpApi, HttpResponse, JwtAuthorizer, json_response
from local_runtime.lambdas import RUNTIME_ID_VARIABLE, LambdaService, free_port
from local_runtime.paths import BIN, COMMON_LAYER, LOGS, PYTHON, ROOT, RUN
from local_runtime.schedules import Clock, Scheduler
from local_runtime.web import WebApp
from local_runtime.websocket import LocalWebSocketApi, ws_management_port, ws_port

log = logging.getLogger("local_runtime")


def kill_stray_emulators(runtime_id: str = "main") -> int:
    """Emulators left behind by a runtime with this id that was killed (they hold memory and ports)."""
    rie = str(BIN / "aws-lambda-rie").encode()
    marker = f"{RUNTIME_ID_VARIABLE}={runtime_id}".encode()
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if not cmd or cmd[0] != rie or marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            os.killpg(int(proc.name), signal.SIGKILL)
            killed += 1
        except (OSError, ProcessLookupError, PermissionError):
            continue
    return killed


class ServiceProcess:
    """A long-running container entrypoint, run as a process and restarted if it dies (as ECS/systemd do)."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stop = threading.Event()

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    def _spawn(self) -> None:
        env = {**os.environ, **self.env,
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(COMMON_LAYER)]), "PYTHONUNBUFFERED": "1"}
        self.process = svc.spawn(self.command, log=self.log, env=env, cwd=ROOT, pid_file=RUN / f"{self.name}.pid")

    def run(self) -> None:
        self._spawn()
        while not self._stop.wait(1.0):
            if self.process is not None and self.process.poll() is not None:
                log.warning("service %s exited with %s; restarting (see %s)", self.name,
                            self.process.returncode, self.log)
                self.restarts += 1
                self._stop.wait(min(30.0, 2.0 ** min(self.restarts, 5)))
                if not self._stop.is_set():
                    self._spawn()

    def stop(self) -> None:
        self._stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _shared_clock_store() -> Any:
    import redis

    client = redis.Redis(host="127.0.0.1", port=svc.REDIS_PORT, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


class LocalRuntime:
    def __init__(self, system: System, state: Mapping[str, str], *, host: str = "127.0.0.1", port: int = 3000,
                 clock: Clock | None = None, run_services: bool = True, runtime_id: str = "main") -> None:
        system.validate()
        self.runtime_id = runtime_id
        self.system = system
        self.state = dict(state)
        self.host = host
        self.port = port or free_port()
        self.state["api_url"] = f"http://{host}:{self.port}"
        state = self.state
        # the main runtime shares its clock with the functions and the engine; test runtimes keep their own
        self.clock = clock or Clock(_shared_clock_store() if runtime_id == "main" else None)
        functions = {f.name: f for f in system.functions}
        environments = {n: function_environment(f, state, system.iam_callers_of(n)) for n, f in functions.items()}
        # the WebSocket APIs (local_runtime/websocket.py): their managers get the @connections URL, as on AWS
        ws_ports = (ws_port(), ws_management_port()) if runtime_id == "main" else (free_port(), free_port())
        for api in system.websocket_apis:
            for manager in api.managers:
                environments[manager]["WEBSOCKET_CALLBACK_URL"] = f"http://{host}:{ws_ports[1]}/{api.stage}"
        self.lambdas = LambdaService(functions, environments, runtime_id)
        self.websockets = [LocalWebSocketApi(api, self.lambdas, host, *ws_ports) for api in system.websocket_apis[:1]]
        authorizer = None
        if state.get("issuer") and state.get("jwks_url"):
            authorizer = JwtAuthorizer(state["issuer"], [state["client_id"]], state["jwks_url"])
        self.http = HttpApi(system.routes, self.lambdas, authorizer, self.control,
                            web=WebApp(state, ws_ports[0]).handle)
        self.scheduler = Scheduler(system.schedules, self.clock, self._invoke_async)
        rabbit_url = f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"
        self.rabbit_pollers = [RabbitMqPoller(s, system.queue(s.queue).vhost, rabbit_url, self.lambdas.invoke)
                               for s in system.rabbitmq_sources]
        bootstrap = f"127.0.0.1:{svc.KAFKA_PORT}"
        self.kafka_pollers = [KafkaPoller(s, bootstrap, self.lambdas.invoke) for s in system.kafka_sources]
        self.services = [
            ServiceProcess(s.name, [str(PYTHON) if c == "python" else c for c in s.entrypoint],
                           service_environment(s, state))
            for s in (system.services if run_services else ())
        ]
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self.started_at = time.time()

    def _invoke_async(self, function: str, event: dict[str, object]) -> bool:
        result = self.lambdas.invoke(function, event, wait_s=300)
        if result.function_error is not None:
            log.warning("scheduled invocation of %s failed: %s", function, result.function_error)
        return result.function_error is None

    def _thread(self, name: str, target: Any) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def start(self) -> None:
        kill_stray_emulators(self.runtime_id)
        jwks_url = self.state.get("jwks_url")
        if jwks_url and self.state.get("aws_backend", "moto") == "moto":
            from local_runtime.moto_server import serves_install_keys

            if serves_install_keys(jwks_url) is False:
                log.warning("the local Cognito at %s does not sign with this install's key pair (a moto started "
                            "without local_runtime.moto_server: not gated, bundled keys); restart it with "
                            "scripts/stop && scripts/up", jwks_url)
        self._server = self.http.server(self.host, self.port)
        self.port = self._server.server_address[1]
        self._thread("http", self._server.serve_forever)
        for ws in self.websockets:
            ws.start()
        self._thread("scheduler", self.scheduler.run)
        for p in self.rabbit_pollers:
            self._thread(f"esm-{p.source.name}", p.run)
        for k in self.kafka_pollers:
            self._thread(f"esm-{k.source.name}", k.run)
        for s in self.services:
            self._thread(f"service-{s.name}", s.run)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        for p in self.rabbit_pollers:
            p.stop()
        for k in self.kafka_pollers:
            k.stop()
        self.scheduler.stop()
        for ws in self.websockets:
            ws.stop()
        for s in self.services:
            s.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=10)
        self.lambdas.stop()

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "url": self.url,
            "clock": self.clock.now().isoformat(),
            "functions": {n: {"environments": p.size} for n, p in self.lambdas.pools.items()},
            "rabbitmq_sources": {p.source.name: {"batches": p.batches, "failures": p.failures}
                                 for p in self.rabbit_pollers},
            "kafka_sources": {k.source.name: {"batches": k.batches, "to_failure_topic": k.sent_to_failure_topic}
                              for k in self.kafka_pollers},
            "services": {s.name: {"pid": s.process.pid if s.process else None,
                                  "running": bool(s.process and s.process.poll() is None),
                                  "restarts": s.restarts, "log": str(s.log)} for s in self.services},
            "websocket_apis": {w.api.name: {"url": w.url, "callback_url": w.callback_url,
                                            "connections": len(w.connections), "posts": w.posts,
                                            "closed_slow": w.closed_slow} for w in self.websockets},
            "schedules": [{"name": n, "time": w.isoformat(), "ok": ok} for n, w, ok in self.scheduler.fired[-20:]],
        }

    def control(self, method: str, target: str, body: bytes) -> HttpResponse | None:
        path = urlsplit(target).path
        rid = "local"
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return json_response(400, {"code": "INVALID_JSON", "message": "body is not JSON"}, rid)
        if path == "/_local/health":
            return json_response(200, self.health(), rid)
        if path == "/_local/clock":
            if method == "POST":
                if payload.get("reset"):
                    self.clock.reset()
                if "set" in payload:
                    self.clock.set(datetime.fromisoformat(payload["set"]))
                if "advance_s" in payload:
                    self.clock.advance(timedelta(seconds=float(payload["advance_s"])))
                fired = self.scheduler.tick()
                return json_response(200, {"now": self.clock.now().isoformat(), "fired": fired}, rid)
            return json_response(200, {"now": self.clock.now().isoformat()}, rid)
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1] == "schedules" and parts[3] == "fire" and method == "POST":
            found = [s for s in self.system.schedules if s.name == parts[2]]
            if not found:
                return json_response(404, {"code": "UNKNOWN_SCHEDULE", "message": parts[2]}, rid)
            from local_runtime.schedules import scheduled_event

            ok = self._invoke_async(found[0].function, scheduled_event(found[0], self.clock.now()))
            return json_response(200, {"ok": ok}, rid)
        if len(parts) == 4 and parts[1] == "functions" and parts[3] == "invoke" and method == "POST":
            if parts[2] not in self.lambdas.pools:
                return json_response(404, {"code": "UNKNOWN_FUNCTION", "message": parts[2]}, rid)
            result = self.lambdas.invoke(parts[2], body or b"{}")
            headers = [("x-amz-function-error", result.function_error)] if result.function_error else []
            return HttpResponse(200, [("content-type", "application/json"), *headers], result.payload)
        return None


def serve(system: System, state: Mapping[str, str], port: int, runtime_id: str = "main",
          run_services: bool = True) -> None:
    runtime = LocalRuntime(system, state, port=port, runtime_id=runtime_id, run_services=run_services)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    print(f"local runtime listening on {runtime.url}", flush=True)
    stop.wait()
    runtime.stop()
