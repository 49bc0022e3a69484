"""Internal routes take only their declared callers' roles (found in review: any IAM principal whose own policy
allowed execute-api:Invoke, an administrator's or a CI role's, passed as the orders service)."""

from __future__ import annotations

from typing import Any

import pytest
from mybroker.http import iam_identity


def event(user_arn: str) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"iam": {"accessKey": "ASIA0EXAMPLE", "accountId": "123456789012",
                                                      "callerId": "AROA0EXAMPLE:orders", "userArn": user_arn}}}}


ORDERS = "arn:aws:sts::123456789012:assumed-role/MyBrokerB3-OrdersApiServiceRole1A2B-XYZ/mybroker-orders-api"


def test_a_declared_callers_role_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_CALLER_ROLES", "MyBrokerB3-OrdersApiServiceRole1A2B-XYZ,Other-Role")
    caller = iam_identity(event(ORDERS))
    assert caller is not None and caller.user_arn == ORDERS


@pytest.mark.parametrize("user_arn", [
    "arn:aws:sts::123456789012:assumed-role/Admin/alice",  # another role with execute-api:Invoke
    "arn:aws:iam::123456789012:user/ci",  # an IAM user
    "arn:aws:sts::123456789012:assumed-role/MyBrokerB3-OrdersApiServiceRole1A2B-XYZ-evil/x",
    "",
])
def test_any_other_iam_identity_is_refused(monkeypatch: pytest.MonkeyPatch, user_arn: str) -> None:
    monkeypatch.setenv("IAM_CALLER_ROLES", "MyBrokerB3-OrdersApiServiceRole1A2B-XYZ")
    assert iam_identity(event(user_arn)) is None


def test_a_users_token_is_never_an_iam_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_CALLER_ROLES", "MyBrokerB3-OrdersApiServiceRole1A2B-XYZ")
    assert iam_identity({"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u"}}}}}) is None
