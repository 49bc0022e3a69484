"""A cold start's init is not part of the function's timeout (Lambda gives init its own 10 s; the emulator
alone would count it): found by the fault suite, where a dozen interpreters starting at once on two cores took
3 s each and timed out the 3 s wallet-reservations before its handler ran."""

from __future__ import annotations

import json
import uuid

from infra.declarations import Function
from local_runtime.lambdas import ExecutionEnvironment
from tests.fixtures.harness import CODE


def environment(init_sleep_s: float) -> ExecutionEnvironment:
    fn = Function(name=f"probe-cold-{uuid.uuid4().hex[:8]}", code_dir=CODE, handler="probe.http", timeout_s=2)
    return ExecutionEnvironment(fn, {"PROBE_KEY": f"probe:cold:{uuid.uuid4().hex}",
                                     "PROBE_INIT_SLEEP_S": str(init_sleep_s)}, 0, runtime_id="test-cold")


def hello(path: str = "/hello") -> bytes:
    return json.dumps({"rawPath": path, "queryStringParameters": {"s": "3"}}).encode()


def test_a_slow_init_does_not_count_against_the_timeout_and_the_handler_still_gets_its_own() -> None:
    env = environment(init_sleep_s=3.0)  # longer than the 2 s timeout
    try:
        first = env.invoke(hello())
        assert first.function_error is None, first.payload
        body = json.loads(json.loads(first.payload)["body"])
        assert 0 < body["remaining_ms"] <= 2000  # the handler is told what Lambda would tell it, never more
        again = env.invoke(hello())  # warm: the same runtime, and now the 2 s are the handler's alone
        assert again.function_error is None and json.loads(json.loads(again.payload)["body"])["pid"] == body["pid"]
        slow = env.invoke(hello("/sleep"))  # 3 s on a warm environment: over its timeout
        assert slow.function_error == "Sandbox.Timedout", slow.payload
        assert not env.alive()  # reset, as Lambda resets a timed-out environment
    finally:
        env.stop()
