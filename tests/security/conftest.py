"""The security suite (``pytest tests/security``, or ``pytest -m security``): attacks on the running local
system, as a user, a stranger or a rogue service would make them (docs/security.md).

Each module runs inside a B3 trading session (the e2e suite's ``trading_session`` fixture), and every attack
request is counted: the totals (attacks tried, 5xx answers) are printed at the end of the run."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import trading_session  # noqa: F401  (re-exported: every module runs in a session)
from tests.security.support import TALLY


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "security: the attack suite against the running system (tests/security)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.attacks:
        return
    terminalreporter.section("security: attacks tried")
    for group, n in sorted(TALLY.attacks.items()):
        terminalreporter.write_line(f"{group:<28} {n:>6}")
    terminalreporter.write_line(f"{'total':<28} {sum(TALLY.attacks.values()):>6}")
    terminalreporter.write_line(f"{'5xx answers':<28} {len(TALLY.server_errors):>6}")
    by_status = ", ".join(f"{s}: {n}" for s, n in sorted(TALLY.statuses.items()))
    terminalreporter.write_line(f"answers by status: {by_status}")
    for line in TALLY.server_errors[:20]:
        terminalreporter.write_line(f"  {line}")
