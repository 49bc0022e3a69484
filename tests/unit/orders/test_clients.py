"""The service clients' timeouts against the declared ones (the caller outlives its callees), and the SigV4
signature the wallet and orders internal routes are called with."""

from __future__ import annotations

import re

from botocore.credentials import Credentials
from mybroker.orders import clients
from mybroker.orders.clients import ServiceSigner

from infra.declarations import SYSTEM

TIMEOUTS = {f.name: f.timeout_s for f in SYSTEM.functions}
RABBITMQ_SOCKET_TIMEOUT_S = 5  # mybroker.orders.publisher: the engine command is published on the request path


def test_the_declared_callee_timeouts_are_the_clients_own() -> None:
    assert TIMEOUTS["wallet-reservations"] == clients.WALLET_RESERVATIONS_TIMEOUT_S
    assert TIMEOUTS["orders-api"] == clients.ORDERS_API_TIMEOUT_S


def test_each_write_client_outlives_its_callee() -> None:
    assert TIMEOUTS["wallet-reservations"] < clients.WALLET_TIMEOUT_S
    assert TIMEOUTS["orders-api"] < clients.ORDERS_READ_BACK_TIMEOUT_S


def test_orders_api_outlives_its_worst_path() -> None:
    # place, worst case: the catalog read, the reservation, the release of a certainly-absent order, the engine
    # command; the database reads and writes fit in the rest
    worst = clients.ASSETS_TIMEOUT_S + 2 * clients.WALLET_TIMEOUT_S + RABBITMQ_SOCKET_TIMEOUT_S
    assert worst < TIMEOUTS["orders-api"]


def test_the_sweeper_fits_a_read_back_in_its_own_timeout() -> None:
    assert TIMEOUTS["wallet-reservation-sweeper"] > clients.ORDERS_READ_BACK_TIMEOUT_S + 5


def test_service_calls_are_signed_with_sigv4_for_execute_api() -> None:
    # the keys a function's environment carries, pinned here
    signer = ServiceSigner("sa-east-1", Credentials("AKIDFUNCTION", "secret", "session-token"))
    url = "http://127.0.0.1:3000/internal/wallet/reservations/o1?accountId=acc-1"
    headers = signer.sign("DELETE", url, None, {"Host": "127.0.0.1:3000"})
    auth = headers["Authorization"]
    assert re.match(r"AWS4-HMAC-SHA256 Credential=AKIDFUNCTION/\d{8}/sa-east-1/execute-api/aws4_request, "
                    r"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$", auth), auth
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert "Bearer" not in auth  # never a user's token
