"""brapi's monthly request quota, counted in the real Redis; and the token read from the local SSM."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from mybroker.market_data.brapi import BrapiProvider, MonthlyQuota, token_from_environment

from tests.unit.market_data.brapi_stub import brapi_stub

pytestmark = pytest.mark.stack
NOW = datetime(2025, 11, 17, 14, 0, tzinfo=UTC)


def test_quota_stops_requests_when_used_up(redis_client: Any, redis_prefix: str) -> None:
    quota = MonthlyQuota(redis_client, limit=3, prefix=redis_prefix)
    with brapi_stub() as stub:
        p = BrapiProvider(base_url=stub.base_url, token="t", quota=quota, batch_size=1, sleep=lambda s: None)
        r = p.fetch(["PETR4", "VALE3", "ITUB4", "BBDC4", "BBAS3"], NOW)
    assert len(stub.requests) == 3 and len(r.quotes) == 3
    assert r.failed == {"BBDC4": "monthly request quota exhausted", "BBAS3": "monthly request quota exhausted"}
    assert quota.used(NOW) == 3
    assert redis_client.ttl(quota.key(NOW)) > 30 * 86400
    assert quota.acquire(datetime(2025, 12, 1, tzinfo=UTC))  # a new month, a new allowance


def test_token_from_ssm(monkeypatch: pytest.MonkeyPatch) -> None:
    from mybroker.aws import client

    name = f"/mybroker/test/brapi-token-{uuid.uuid4().hex[:8]}"
    ssm = client("ssm")
    ssm.put_parameter(Name=name, Value="from-ssm", Type="SecureString", Overwrite=True)
    try:
        monkeypatch.delenv("BRAPI_TOKEN", raising=False)
        monkeypatch.setenv("BRAPI_TOKEN_PARAMETER", name)
        assert token_from_environment() == "from-ssm"
    finally:
        ssm.delete_parameter(Name=name)


def test_token_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    from mybroker.aws import client

    name = f"mybroker/test/brapi-{uuid.uuid4().hex[:8]}"
    sm = client("secretsmanager")
    sm.create_secret(Name=name, SecretString='{"token": "from-secret"}')
    try:
        monkeypatch.delenv("BRAPI_TOKEN", raising=False)
        monkeypatch.delenv("BRAPI_TOKEN_PARAMETER", raising=False)
        monkeypatch.setenv("BRAPI_TOKEN_SECRET_ID", name)
        assert token_from_environment() == "from-secret"
    finally:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
