"""The fault suite as pytest tests (``pytest -m faults tests/faults``): one test per component killed, in the
order of ``FAULTS``, over one load and one set of users, then the check of every account at the end. The same
run as ``scripts/faults``; the table is printed at the end of the session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.faults.suite import FAULTS, Fault, Row, Suite, all_up, bring_up, exclusive_lock

pytestmark = [pytest.mark.stack, pytest.mark.faults]
ROWS: list[Row] = []


@pytest.fixture(scope="module")
def suite(local_state: dict[str, str]) -> Iterator[Suite]:
    held = os.environ.get("MYBROKER_FAULTS_NO_LOCK") == "1"  # the caller holds flock -x already
    with contextlib.nullcontext() if held else exclusive_lock():
        s = Suite()
        try:
            yield s
        finally:
            if not all_up():
                bring_up()


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_killing_a_component_moves_no_money(suite: Suite, fault: Fault) -> None:
    row = suite.run(fault)
    ROWS.append(row)
    assert row.recovered_s is not None, f"{fault.name} did not recover: {row.notes}"
    assert row.after_5xx == 0, row.notes
    assert (row.report.cents_off, row.report.shares_off, row.report.orphans) == (0, 0, 0), row.report.problems
    assert row.report.problems == []


def test_every_account_of_the_run_reconciles_at_the_end(suite: Suite) -> None:
    final = suite.final_check()
    assert final.ok, final.problems  # holds of orders never stored, past the sweeper's window, count as problems


