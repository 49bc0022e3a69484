"""Lambda execution environments: AWS's Runtime Interface Emulator running ``awslambdaric`` per function.

One emulator serves one invocation at a time, like one Lambda execution environment; a function's
concurrency is a pool of them. The emulator counts its timeout from the start of an invocation, a cold
start's init included, where Lambda gives the init phase its own 10 s: so it is told the function's timeout
plus that allowance (``local_runtime.lambda_bootstrap`` gives the handler Lambda's deadline: the timeout from
its invocation), and a warm invocation is held to the function's own timeout here: it answers "Task timed out" and the
environment is replaced, so the next call is a cold start. The emulator restarts a runtime that crashed; a
pool replaces an emulator process that died. Nothing here knows about HTTP routes or queues.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.declarations import Function
from local_runtime.paths import BIN, COMMON_LAYER, LOGS, PYTHON, ROOT

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
RUNTIME_ID_VARIABLE = "MYBROKER_LOCAL_RUNTIME_ID"  # marks a runtime's emulators, to clean up after a crash
INIT_LIMIT_S = 10  # Lambda's init phase has its own 10 s, outside the function's timeout
HANDLER_MARGIN_S = 0.25  # the emulator's own round trip, on top of a warm invocation's timeout


class Throttled(RuntimeError):
    """Every execution environment of the function stayed busy for longer than the caller would wait."""


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    function_error: str | None  # None on success; the error type ("ValueError", "Sandbox.Timedout", ...)
    duration_ms: float
    environment: int

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def classify(status: int, payload: bytes) -> str | None:
    """The emulator answers 200 even for handler errors; tell errors apart the way Lambda's
    X-Amz-Function-Error header would."""
    if status >= 500:
        try:
            return str(json.loads(payload).get("errorType", "Runtime.Unknown"))
        except (ValueError, AttributeError):
            return "Runtime.Unknown"
    if payload.startswith(b"Task timed out after"):
        return "Sandbox.Timedout"
    if payload[:1] == b"{" and b'"errorType"' in payload and b'"errorMessage"' in payload:
        try:
            body = json.loads(payload)
        except ValueError:
            return None
        if isinstance(body, dict) and {"errorType", "errorMessage"} <= body.keys() and "statusCode" not in body:
            return str(body["errorType"])
    return None


class ExecutionEnvironment:
    """One emulator process with its own two ports, serving one invocation at a time."""

    def __init__(self, function: Function, environment: Mapping[str, str], index: int,
                 runtime_id: str = "main") -> None:
        self.function = function
        self.runtime_id = runtime_id
        self.environment = dict(environment)
        self.index = index
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.invocations = 0
        self._warm = False  # the runtime is initialised: an invocation is the handler's time alone
        self._conn: http.client.HTTPConnection | None = None  # kept alive between invocations

    @property
    def log(self) -> Path:
        return LOGS / "lambda" / f"{self.function.name}.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        rie = BIN / "aws-lambda-rie"
        if not rie.exists():
            raise RuntimeError(f"the Lambda Runtime Interface Emulator is not built ({rie}); run scripts/up")
        self._close_connection()
        self.port, api_port = free_port(), free_port()
        code_dir = ROOT / self.function.code_dir
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": os.environ.get("HOME", "/root"),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": self.function.handler,
            "PYTHONPATH": os.pathsep.join([str(code_dir), str(COMMON_LAYER), str(ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_FUNCTION_NAME": self.function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.function.timeout_s + INIT_LIMIT_S),
            "MYBROKER_INIT_ALLOWANCE_MS": str(INIT_LIMIT_S * 1000),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{self.index}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            **self.environment,
            RUNTIME_ID_VARIABLE: self.runtime_id,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._warm = False
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(rie), "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
                 "--runtime-api-address", f"127.0.0.1:{api_port}",
                 str(PYTHON), "-m", "local_runtime.lambda_bootstrap", self.function.handler],
                cwd=code_dir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator for {self.function.name} exited at start; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"emulator for {self.function.name} did not listen; see {self.log}")

    def invoke(self, payload: bytes) -> InvokeResult:
        if not self.alive():
            self.start()
        started = time.perf_counter()
        reused = self._conn is not None
        # Lambda's limit: the handler's time on a warm environment; a cold one may take its init allowance too
        limit_s = self.function.timeout_s + (HANDLER_MARGIN_S if self._warm else INIT_LIMIT_S)
        try:
            try:
                resp = self._post(payload, limit_s)
            except (http.client.RemoteDisconnected, BrokenPipeError):
                if not reused:
                    raise
                # the emulator closed the idle kept-alive connection before reading the request: a fresh one
                self._close_connection()
                resp = self._post(payload, limit_s)
            body = resp.read()
            status = resp.status
            if resp.will_close:
                self._close_connection()
        except TimeoutError:
            self.stop()  # as Lambda resets a timed-out environment: the next call starts a fresh one
            body = f"Task timed out after {self.function.timeout_s:.2f} seconds".encode()
            status = 200
        except (OSError, http.client.HTTPException) as exc:
            self.stop()  # a fresh emulator on the next call
            body = json.dumps({"errorType": "Runtime.EmulatorFailure", "errorMessage": str(exc)}).encode()
            status = 502
        self.invocations += 1
        error = classify(status, body)
        # a handler's own exception keeps the runtime; a crash or a timeout re-initialises it (a cold start)
        self._warm = self.alive() and not (error or "").startswith(("Runtime.", "Sandbox."))
        return InvokeResult(body, error, (time.perf_counter() - started) * 1000, self.index)

    def _post(self, payload: bytes, limit_s: float) -> http.client.HTTPResponse:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=limit_s)
        self._conn.timeout = limit_s
        if self._conn.sock is not None:
            self._conn.sock.settimeout(limit_s)
        self._conn.request("POST", INVOKE_PATH, body=payload, headers={"Content-Type": "application/json"})
        return self._conn.getresponse()

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def stop(self) -> None:
        self._close_connection()
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.process = None


class FunctionPool:
    """A function's execution environments, created on demand up to its concurrency."""

    def __init__(self, function: Function, environment: Mapping[str, str], runtime_id: str = "main") -> None:
        self.function = function
        self.environment = dict(environment)
        self.runtime_id = runtime_id
        self._idle: queue.LifoQueue[ExecutionEnvironment] = queue.LifoQueue()
        self._all: list[ExecutionEnvironment] = []
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self._all)

    def _acquire(self, wait_s: float) -> ExecutionEnvironment:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < max(1, self.function.concurrency):
                env = ExecutionEnvironment(self.function, self.environment, len(self._all), self.runtime_id)
                self._all.append(env)
                return env
        try:
            return self._idle.get(timeout=wait_s)
        except queue.Empty:
            raise Throttled(f"{self.function.name}: all {self.size} execution environments busy") from None

    def invoke(self, event: Any, wait_s: float = 30.0) -> InvokeResult:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        env = self._acquire(wait_s)
        try:
            return env.invoke(payload)
        finally:
            self._idle.put(env)

    def stop(self) -> None:
        for env in self._all:
            env.stop()


class LambdaService:
    """Every function of the system by name: the local equivalent of the Lambda Invoke API."""

    def __init__(self, functions: Mapping[str, Function], environments: Mapping[str, Mapping[str, str]],
                 runtime_id: str = "main") -> None:
        self.pools = {name: FunctionPool(fn, environments[name], runtime_id) for name, fn in functions.items()}

    def invoke(self, name: str, event: Any, wait_s: float = 30.0) -> InvokeResult:
        try:
            pool = self.pools[name]
        except KeyError:
            raise KeyError(f"no function named {name!r}") from None
        return pool.invoke(event, wait_s)

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()
