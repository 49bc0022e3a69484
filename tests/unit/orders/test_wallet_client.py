"""The orders service's wallet client over real HTTP: which answers of the wallet mean "reserved"."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from mybroker.orders.clients import WalletClient
from mybroker.orders.service import WalletRefused, WalletUnavailable


class Wallet(BaseHTTPRequestHandler):
    """Answers POST /wallet/reservations with the status and body the test queued."""

    protocol_version = "HTTP/1.1"
    answers: list[tuple[int, dict[str, Any]]] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Wallet.seen.append({"path": self.path, "auth": self.headers["authorization"], **body})
        status, answer = Wallet.answers.pop(0)
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def wallet() -> Iterator[WalletClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Wallet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Wallet.answers, Wallet.seen = [], []
    yield WalletClient(f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


def reserve(client: WalletClient) -> None:
    client.reserve("Bearer t", "order-1", "PETR4", "BUY", 100, 3800)


def test_created_and_an_idempotent_repeat_both_mean_reserved(wallet: WalletClient) -> None:
    Wallet.answers = [(201, {"orderId": "order-1"}), (200, {"orderId": "order-1"})]
    reserve(wallet)
    reserve(wallet)
    assert [s["orderId"] for s in Wallet.seen] == ["order-1", "order-1"]
    assert Wallet.seen[0] == {"path": "/wallet/reservations", "auth": "Bearer t", "orderId": "order-1",
                              "ticker": "PETR4", "side": "BUY", "quantity": 100, "priceCents": 3800}


def test_a_different_reservation_under_the_same_order_id_is_not_taken_as_ours(wallet: WalletClient) -> None:
    Wallet.answers = [(409, {"code": "DUPLICATE_RESERVATION", "message": "order order-1 already has a different "
                                                                         "reservation"})]
    with pytest.raises(WalletUnavailable) as refused:
        reserve(wallet)
    assert refused.value.code == "WALLET_UNAVAILABLE" and "409" in str(refused.value)


def test_insufficient_funds_carries_the_wallets_code_and_reason(wallet: WalletClient) -> None:
    Wallet.answers = [(422, {"code": "INSUFFICIENT_FUNDS", "message": "the order needs R$10,00 more"})]
    with pytest.raises(WalletRefused) as refused:
        reserve(wallet)
    assert refused.value.code == "INSUFFICIENT_FUNDS" and refused.value.status == 422
    assert "R$10,00" in str(refused.value)
