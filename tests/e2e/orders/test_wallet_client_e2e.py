"""The orders service's wallet client against the real wallet-reservations function, through the local HTTP
API's internal routes, SigV4-signed with orders-api's own keys: which answers mean "reserved", and which refuse
the order. A user's token gets 403 on those routes, whatever it asks."""

from __future__ import annotations

import uuid

import pytest
from mybroker.orders.clients import WalletClient
from mybroker.orders.service import WalletRefused, WalletUnavailable

from tests.e2e.orders.service_calls import signer_of
from tests.fixtures.users import API, User, new_user

pytestmark = pytest.mark.stack


def orders_wallet_client() -> WalletClient:
    return WalletClient(API, signer_of("orders-api"))


def test_reserved_and_an_identical_retry_both_succeed() -> None:
    user = new_user("walletclient")  # no orders of its own: nothing else moves its reservations
    assert user.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": uuid.uuid4().hex}).status == 201
    wallet, order_id = orders_wallet_client(), str(uuid.uuid4())

    def reserved() -> int:
        return int(user.get("/wallet").body["reservedCents"])

    wallet.reserve(user.user_id, order_id, "PETR4", "BUY", 100, 3_000)
    once = reserved()
    wallet.reserve(user.user_id, order_id, "PETR4", "BUY", 100, 3_000)  # a retry: the same reservation, 200
    assert reserved() == once >= 300_000  # value plus estimated fees, held once
    wallet.adjust(user.user_id, order_id, 200, 3_000, 1)  # a replace about to be sent widens the hold
    widened = reserved()
    assert widened >= 600_000
    wallet.adjust(user.user_id, order_id, 100, 2_900, 1)  # never narrows it: only the engine's answer does
    assert reserved() == widened
    with pytest.raises(WalletRefused) as refused:  # a second replace before the first one's answer
        wallet.adjust(user.user_id, order_id, 100, 2_900, 2)
    assert (refused.value.code, refused.value.status) == ("REPLACE_PENDING", 409)
    wallet.release(user.user_id, order_id)
    assert reserved() == 0
    wallet.release(user.user_id, order_id)  # again: nothing left, no error


def test_a_different_reservation_under_the_same_order_id_is_not_taken_as_ours(funded: User) -> None:
    wallet, order_id = orders_wallet_client(), str(uuid.uuid4())
    wallet.reserve(funded.user_id, order_id, "PETR4", "BUY", 100, 3_000)
    with pytest.raises(WalletUnavailable) as refused:  # the wallet answers 409 DUPLICATE_RESERVATION
        wallet.reserve(funded.user_id, order_id, "PETR4", "BUY", 200, 3_000)
    assert refused.value.code == "WALLET_UNAVAILABLE" and "409" in str(refused.value)
    wallet.release(funded.user_id, order_id)


def test_insufficient_funds_carries_the_wallets_code_and_reason(funded: User) -> None:
    with pytest.raises(WalletRefused) as refused:
        orders_wallet_client().reserve(funded.user_id, str(uuid.uuid4()), "PETR4", "BUY", 1_000_000, 100_000)
    assert refused.value.code == "INSUFFICIENT_FUNDS" and refused.value.status == 422
    assert "R$" in str(refused.value)


def test_a_user_token_cannot_reach_the_reservation_steps() -> None:
    user = new_user("walletclient-attacker")
    assert user.post("/wallet/deposits", {"amountCents": 1_000_000, "idempotencyKey": uuid.uuid4().hex}).status == 201
    order_id = str(uuid.uuid4())
    orders_wallet_client().reserve(user.user_id, order_id, "PETR4", "BUY", 100, 3_000)
    held = user.get("/wallet").body["reservedCents"]
    body = {"accountId": user.user_id, "orderId": order_id, "ticker": "PETR4", "side": "BUY", "quantity": 100,
            "priceCents": 3_000}
    for method, path, payload in (
            ("POST", "/internal/wallet/reservations", {**body, "orderId": str(uuid.uuid4())}),
            ("PUT", f"/internal/wallet/reservations/{order_id}", {"accountId": user.user_id, "quantity": 100,
                                                                  "priceCents": 1, "replaceSeq": 1}),
            ("DELETE", f"/internal/wallet/reservations/{order_id}?accountId={user.user_id}", None)):
        r = user.call(method, path, payload)
        assert r.status == 403, (method, r.status, r.body)
    # the old public routes are gone
    assert user.call("DELETE", f"/wallet/reservations/{order_id}").status in (403, 404)
    assert user.get("/wallet").body["reservedCents"] == held  # the hold stands


def test_a_signature_from_another_function_is_not_the_orders_service() -> None:
    # the sweeper may read orders back, not move holds: its signature on a wallet route is refused
    user = new_user("walletclient-sweeper")
    wallet = WalletClient(API, signer_of("wallet-reservation-sweeper"))
    with pytest.raises(WalletUnavailable) as refused:
        wallet.reserve(user.user_id, str(uuid.uuid4()), "PETR4", "BUY", 100, 3_000)
    assert "403" in str(refused.value)
