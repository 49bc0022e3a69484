"""A short simulated day through the CLI completes with a clean reconciliation.

Slow by nature: every jump of the system clock across trading hours makes the runtime fire the per-minute
quote-ingestion schedule it skipped (up to 60 runs per jump), about 15-30 s per jump here.
"""

from __future__ import annotations

import pytest

from mybroker_client import cli
from tests.e2e.client.conftest import Runner

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]


def test_simulate_day_reconciles(run: Runner) -> None:
    code, out, err = run("--json", "simulate-day", "--users", "2", "--seed", "11", "--steps", "1", "--orders", "1",
                         "--tickers", "PETR4")
    assert code == cli.OK, err + out
    import json

    summary = json.loads(out)
    assert summary["reconciliation"]["clean"], summary["reconciliation"]
    assert len(summary["users"]) == 2
    assert all(u["orders"] > 0 for u in summary["users"])
