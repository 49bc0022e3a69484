"""The orders service's wallet client against the real wallet-api, through the local HTTP API with a user's
token: which answers mean "reserved", and which refuse the order."""

from __future__ import annotations

import uuid

import pytest
from mybroker.orders.clients import WalletClient
from mybroker.orders.service import WalletRefused, WalletUnavailable

from tests.fixtures.users import API, User, new_user

pytestmark = pytest.mark.stack


def test_reserved_and_an_identical_retry_both_succeed() -> None:
    user = new_user("walletclient")  # no orders of its own: nothing else moves its reservations
    assert user.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": uuid.uuid4().hex}).status == 201
    wallet, auth, order_id = WalletClient(API), f"Bearer {user.token}", str(uuid.uuid4())

    def reserved() -> int:
        return int(user.get("/wallet").body["reservedCents"])

    wallet.reserve(auth, order_id, "PETR4", "BUY", 100, 3_000)
    once = reserved()
    wallet.reserve(auth, order_id, "PETR4", "BUY", 100, 3_000)  # a retry: the same reservation, 200
    assert reserved() == once >= 300_000  # value plus estimated fees, held once
    wallet.release(auth, order_id)
    assert reserved() == 0


def test_a_different_reservation_under_the_same_order_id_is_not_taken_as_ours(funded: User) -> None:
    wallet, auth, order_id = WalletClient(API), f"Bearer {funded.token}", str(uuid.uuid4())
    wallet.reserve(auth, order_id, "PETR4", "BUY", 100, 3_000)
    with pytest.raises(WalletUnavailable) as refused:  # the wallet answers 409 DUPLICATE_RESERVATION
        wallet.reserve(auth, order_id, "PETR4", "BUY", 200, 3_000)
    assert refused.value.code == "WALLET_UNAVAILABLE" and "409" in str(refused.value)
    wallet.release(auth, order_id)


def test_insufficient_funds_carries_the_wallets_code_and_reason(funded: User) -> None:
    wallet, auth = WalletClient(API), f"Bearer {funded.token}"
    with pytest.raises(WalletRefused) as refused:
        wallet.reserve(auth, str(uuid.uuid4()), "PETR4", "BUY", 1_000_000, 100_000)
    assert refused.value.code == "INSUFFICIENT_FUNDS" and refused.value.status == 422
    assert "R$" in str(refused.value)
