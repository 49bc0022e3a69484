"""``python -m local_runtime.lambda_bootstrap <handler>``: AWS's Python runtime client (awslambdaric), with the
invocation deadline Lambda would give.

The emulator counts a cold start's init inside the function's timeout, where Lambda gives the init phase its own
10 s; so the local runtime tells the emulator the timeout plus that allowance (``MYBROKER_INIT_ALLOWANCE_MS``)
and holds warm invocations to the timeout itself. The deadline the emulator hands the runtime is then too late:
this sets it as Lambda does, the function's timeout from when the handler is invoked (after a cold start's
init), so ``context.get_remaining_time_in_millis()`` says what Lambda would.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from awslambdaric import __main__ as runtime_client
from awslambdaric import lambda_context

ALLOWANCE_MS = int(os.environ.get("MYBROKER_INIT_ALLOWANCE_MS", "0"))
TIMEOUT_MS = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")) * 1000 - ALLOWANCE_MS
_original_init = lambda_context.LambdaContext.__init__


def _init(self: Any, invoke_id: Any, client_context: Any, cognito_identity: Any, epoch_deadline_time_in_ms: int,
          *args: Any, **kwargs: Any) -> None:
    deadline_ms = min(int(epoch_deadline_time_in_ms), time.time_ns() // 1_000_000 + TIMEOUT_MS)
    _original_init(self, invoke_id, client_context, cognito_identity, deadline_ms, *args, **kwargs)


lambda_context.LambdaContext.__init__ = _init

if __name__ == "__main__":
    runtime_client.main(sys.argv)
