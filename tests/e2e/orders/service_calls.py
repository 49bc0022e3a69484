"""Calls to the internal (IAM-authorized) routes as a declared function would make them: SigV4-signed with the
keys the local runtime gives that function's environment (on AWS: the function role's)."""

from __future__ import annotations

from typing import Any

from botocore.credentials import Credentials
from mybroker.orders.clients import ServiceSigner, _call

from infra.declarations import SYSTEM
from local_runtime.environment import function_environment
from tests.fixtures.users import API, Response, state


def signer_of(function_name: str) -> ServiceSigner:
    (fn,) = [f for f in SYSTEM.functions if f.name == function_name]
    env = function_environment(fn, state())
    return ServiceSigner(env.get("AWS_REGION"), Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                                                            env.get("AWS_SESSION_TOKEN")))


class Service:
    """``orders-api`` (or another function) calling internal routes through the local HTTP API."""

    def __init__(self, function_name: str = "orders-api") -> None:
        self.signer = signer_of(function_name)
        self.base_url = state().get("api_url", API)

    def call(self, method: str, path: str, body: Any = None) -> Response:
        status, parsed = _call(method, self.base_url + path, None, body, timeout=30, signer=self.signer)
        return Response(status, parsed, {})

    def reserve(self, account_id: str, order_id: str, ticker: str, side: str, quantity: int,
                price_cents: int) -> Response:
        return self.call("POST", "/internal/wallet/reservations", {
            "accountId": account_id, "orderId": order_id, "ticker": ticker, "side": side, "quantity": quantity,
            "priceCents": price_cents})

