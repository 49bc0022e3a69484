"""The WebSocket streaming API on the running local system (ws://127.0.0.1:3001/live): the $connect
authorizer, isolation, the pusher's delivery, gone and slow connections, reconnecting, and the @connections
management API boto3 talks to. The pusher runs in its emulator, invoked with a Kafka event for a ticker no
one else trades, so nothing is published to the shared topics."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import jwt
import pytest
from mybroker.streaming.store import Connection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.fixtures.users import User, new_user
from tests.integration.streaming.support import (
    WS_URL,
    Socket,
    connection_of,
    fresh_ticker,
    invoke_pusher,
    management,
    store,
    trade,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def alice() -> User:
    return new_user("ws-alice")


@pytest.fixture(scope="module")
def bob() -> User:
    return new_user("ws-bob")


def forged(state: dict[str, str], **claims: object) -> str:
    """An access token signed with the install's Cognito key (what the local pool signs with)."""
    from local_runtime.credentials import cognito_private_jwk

    key = jwt.PyJWK(cognito_private_jwk())
    now = int(time.time())
    body = {"sub": str(uuid.uuid4()), "iss": state["issuer"], "client_id": state["client_id"], "token_use": "access",
            "iat": now, "exp": now + 600, "username": "forged", **claims}
    return jwt.encode(body, key.key, algorithm="RS256", headers={"kid": "dummy"})


def refused(url: str, subprotocols: list[str] | None = None) -> int:
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as exc, connect(url, subprotocols=subprotocols,  # type: ignore[arg-type]
                                                      open_timeout=30):
        pass
    return int(exc.value.response.status_code)


def test_connect_without_a_valid_token_is_refused(local_state: dict[str, str], alice: User) -> None:
    assert refused(WS_URL) == 401
    assert refused(f"{WS_URL}?token=") == 401
    assert refused(f"{WS_URL}?token=not-a-jwt") == 401
    assert refused(f"{WS_URL}?token={alice.token[:-4]}AAAA") == 401  # signature broken
    assert refused(f"{WS_URL}?token={forged(local_state, exp=int(time.time()) - 60)}") == 401  # expired
    assert refused(f"{WS_URL}?token={forged(local_state, client_id='another-app')}") == 401
    assert refused(f"{WS_URL}?token={forged(local_state, iss='https://evil.example/pool')}") == 401
    assert refused(f"{WS_URL}?token={forged(local_state, token_use='id')}") == 401
    other = jwt.encode({"sub": "x", "exp": int(time.time()) + 600, "iss": local_state["issuer"],
                        "client_id": local_state["client_id"]}, "a-shared-secret", algorithm="HS256")
    assert refused(f"{WS_URL}?token={other}") == 401
    assert refused(WS_URL, ["mybroker.v1", "not-a-jwt"]) == 401
    assert refused(WS_URL, ["mybroker.v1"]) == 401


def test_a_browser_gives_the_token_as_a_subprotocol(local_state: dict[str, str], alice: User) -> None:
    s = Socket(alice.token, subprotocol=True)
    try:
        assert s.ws.subprotocol == "mybroker.v1"
        assert s.request({"action": "ping"})["type"] == "pong"
    finally:
        s.close()
    s = Socket(forged(local_state))  # any valid access token of the pool, as API Gateway would accept
    s.close()


def test_nobody_subscribes_to_another_users_orders_or_wallet(alice: User, bob: User) -> None:
    a, b = Socket(alice.token), Socket(bob.token)
    try:
        for channel in (f"orders:{alice.user_id}", f"wallet:{alice.user_id}", "orders:", f"wallet:{bob.user_id}"):
            answer = b.subscribe(channel)
            assert answer["type"] == "error" and answer["code"] == "FORBIDDEN_CHANNEL", answer
        assert b.subscribe("orders", "wallet")["channels"] == ["orders", "wallet"]
        assert a.subscribe("orders")["type"] == "subscribed"
        assert len(store().subscribers([f"orders:{alice.user_id}"])[f"orders:{alice.user_id}"]) == 1
        assert len(store().subscribers([f"orders:{bob.user_id}"])[f"orders:{bob.user_id}"]) == 1
        assert len(store().subscribers([f"wallet:{bob.user_id}"])[f"wallet:{bob.user_id}"]) == 1
        assert store().subscribers([f"wallet:{alice.user_id}"]) == {}
    finally:
        a.close()
        b.close()


def test_frames_the_api_does_not_know_get_errors(alice: User) -> None:
    s = Socket(alice.token)
    try:
        s.send({"action": "dance", "id": "d"})
        assert s.until(lambda f: f.get("id") == "d")["code"] == "UNKNOWN_ACTION"
        s.ws.send("not json")
        assert s.until(lambda f: f.get("type") == "error")["code"] == "INVALID_JSON"
        s.ws.send("[" * 30_000)  # nested past the parser (found in review: the local API dropped the socket)
        assert s.until(lambda f: f.get("type") == "error")["code"] == "INVALID_JSON"
        s.send({"action": "ping", "id": "still-here"})
        assert s.until(lambda f: f.get("id") == "still-here")
        assert s.subscribe("quotes:petr4")["code"] == "INVALID_CHANNEL"
        with pytest.raises(ConnectionClosed):  # over API Gateway's 32 KB frame limit: closed with 1009
            s.ws.send(json.dumps({"action": "ping", "pad": "x" * 40_000}))
            s.ws.recv(timeout=20)
        assert s.ws.close_code == 1009
    finally:
        s.close()


def test_a_trade_reaches_the_subscribed_sockets_and_no_other(alice: User, bob: User) -> None:
    ticker, elsewhere = fresh_ticker(), fresh_ticker()
    a, b = Socket(alice.token), Socket(bob.token)
    try:
        a.subscribe(f"trades:{ticker}", f"book:{ticker}")
        b.subscribe(f"trades:{elsewhere}")
        result = invoke_pusher("trades", [trade(ticker, 1), trade(elsewhere, 1), trade(ticker, 2)])
        assert result["posted"] == 2 and result["gone"] == 0  # a: one frame with both trades; b: one
        assert a.event(f"trades:{ticker}", lambda d: d["seq"] == 1)["seq"] == 1
        assert a.event(f"trades:{ticker}", lambda d: d["seq"] == 2)["seq"] == 2
        assert b.event(f"trades:{elsewhere}")["instrument"] == elsewhere
        assert all(d["instrument"] == elsewhere for d in b.pushed())
        assert all(d["instrument"] == ticker for d in a.pushed())
    finally:
        a.close()
        b.close()


def test_unreadable_records_are_skipped_and_the_rest_delivered(alice: User) -> None:
    ticker = fresh_ticker()
    a = Socket(alice.token)
    try:
        a.subscribe(f"trades:{ticker}")
        result = invoke_pusher("trades", [b"not json", trade(ticker, 5), b'{"type": "TRADE"}'])
        assert result["records"] == 3 and result["posted"] == 1
        assert a.event(f"trades:{ticker}")["seq"] == 5
    finally:
        a.close()


def test_a_gone_connection_is_removed(alice: User) -> None:
    ticker = fresh_ticker()
    ghost = "Gh0stConnX0="  # subscribed in the store, unknown to the API (its $disconnect never ran)
    store().add_connection(Connection(ghost, alice.user_id, int(time.time() * 1000)))
    store().subscribe(ghost, [f"trades:{ticker}", f"orders:{alice.user_id}"], 50)
    live = Socket(alice.token)
    try:
        live.subscribe(f"trades:{ticker}")
        result = invoke_pusher("trades", [trade(ticker, 1)])
        assert result["gone"] == 1 and result["posted"] == 1
        assert live.event(f"trades:{ticker}")["seq"] == 1
        assert store().connection(ghost) is None and store().channels(ghost) == set()
        assert ghost not in store().subscribers([f"trades:{ticker}"]).get(f"trades:{ticker}", set())
        assert ghost not in store().subscribers([f"orders:{alice.user_id}"]).get(f"orders:{alice.user_id}", set())
    finally:
        live.close()


def test_reconnect_and_resubscribe_resumes(alice: User) -> None:
    ticker = fresh_ticker()
    key = f"trades:{ticker}"
    first = Socket(alice.token)
    first.subscribe(key)
    old = connection_of(key)
    first.close()
    deadline = time.monotonic() + 30  # $disconnect runs after the close: the subscription goes with it
    while store().subscribers([key]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store().subscribers([key]) == {} and store().connection(old) is None
    again = Socket(alice.token)
    try:
        again.subscribe(key)
        assert connection_of(key) != old
        invoke_pusher("trades", [trade(ticker, 7)])
        assert again.event(key)["seq"] == 7
    finally:
        again.close()


def test_a_slow_client_is_cut_off_and_never_holds_the_others(alice: User, bob: User) -> None:
    ticker = fresh_ticker()
    key = f"trades:{ticker}"
    # the slow client reads nothing: its library buffers one frame, then TCP's window closes
    slow = Socket(bob.token, max_queue=1)
    fast = Socket(alice.token)
    try:
        slow.subscribe(key)
        slow_id = connection_of(key)
        fast.subscribe(key)
        fast_id = connection_of(key, {slow_id})
        api = management()
        payload = json.dumps({"type": "events", "events": [{"channel": key, "data": {"pad": "x" * 16_000}}],
                              "sent_at_ns": 0}).encode()
        statuses = []
        for _ in range(3000):  # every post answers at once, whether the client reads or not
            try:
                api.post_to_connection(ConnectionId=slow_id, Data=payload)
                statuses.append(200)
            except api.exceptions.GoneException:
                statuses.append(410)
                break
        assert statuses[-1] == 410, "the slow client was never cut off"
        api.post_to_connection(ConnectionId=fast_id, Data=b'{"type": "events", "events": [], "sent_at_ns": 1}')
        assert fast.until(lambda f: f.get("sent_at_ns") == 1)["type"] == "events"
        # and through the pusher: the fast client gets the trade; the slow one is gone and removed
        result = invoke_pusher("trades", [trade(ticker, 3)])
        assert fast.event(key, lambda d: d.get("seq") == 3)["seq"] == 3
        assert result["posted"] >= 1
        deadline = time.monotonic() + 30
        while slow_id in store().subscribers([key]).get(key, set()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow_id not in store().subscribers([key]).get(key, set())
    finally:
        fast.close()
        with contextlib.suppress(Exception):  # the server already closed it
            slow.close()


def test_the_management_api_as_boto3_sees_it(alice: User) -> None:
    key = f"trades:{fresh_ticker()}"
    s = Socket(alice.token, user_agent_header="ws-test-agent")
    try:
        s.subscribe(key)
        cid = connection_of(key)
        api = management()
        info = api.get_connection(ConnectionId=cid)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "ws-test-agent"}
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        api.post_to_connection(ConnectionId=cid, Data=b'{"type": "events", "events": [], "sent_at_ns": 2}')
        assert s.until(lambda f: f.get("sent_at_ns") == 2)
        with pytest.raises(api.exceptions.PayloadTooLargeException):
            api.post_to_connection(ConnectionId=cid, Data=b"x" * (128 * 1024 + 1))
        # only the pusher may manage connections: another function's key, or none, is refused
        other = management("orders-api")
        with pytest.raises(other.exceptions.ForbiddenException):
            other.post_to_connection(ConnectionId=cid, Data=b"{}")
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as unsigned:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:3002/live/@connections/{cid}",
                                                          data=b"{}", method="POST"), timeout=10)
        assert unsigned.value.code == 403
        api.delete_connection(ConnectionId=cid)
        with pytest.raises(ConnectionClosed):
            s.ws.recv(timeout=20)
        with pytest.raises(api.exceptions.GoneException):
            api.post_to_connection(ConnectionId=cid, Data=b"{}")
        with pytest.raises(api.exceptions.GoneException):
            api.get_connection(ConnectionId=cid)
    finally:
        s.close()
