"""The fault suite kills components of the shared system: it runs only when asked for (``-m faults``), never in
the default ``pytest`` run. ``scripts/faults`` is the one command (docs/faults.md)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: kill -9 each component under load, then check the ledger "
                                       "(tests/faults; needs the exclusive system lock)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the fault suite runs with -m faults (or scripts/faults)")
    for item in items:
        if item.get_closest_marker("faults") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.faults.suite import table
    from tests.faults.test_faults import ROWS

    if ROWS:
        terminalreporter.section("faults")
        for line in table(ROWS).splitlines():
            terminalreporter.write_line(line)
