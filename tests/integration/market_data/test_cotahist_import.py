"""COTAHIST import into MongoDB: daily bars, idempotent re-import, malformed lines counted, markets filtered."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mybroker.b3.calendar import add_business_days
from mybroker.market_data.cotahist import import_file, main
from mybroker.market_data.storage import MongoQuoteStore

from tests.unit.market_data.helpers import Quote, header, trailer, write_cotahist

pytestmark = pytest.mark.stack
D0 = date(2025, 1, 2)


def build(tmp_path: Path, zipped: bool = False) -> Path:
    lines = [header(D0)]
    for i in range(20):
        d = add_business_days(D0, i) if i else D0
        for t, base in (("PETR4", 3700), ("VALE3", 5500)):
            q = Quote(t, d, open=base + i, high=base + i + 50, low=base + i - 50, close=base + i + 10)
            lines.append(q.record())
        lines.append(Quote("PETR4F", d, market=20, bdi="96").record())
        lines.append(Quote("PETRA400", d, market=70, bdi="78").record())  # an option: skipped by default
    lines.insert(5, b"this line is broken")
    lines.append(trailer(len(lines)))
    name = "COTAHIST_A2025.ZIP" if zipped else "COTAHIST_A2025.TXT"
    return write_cotahist(tmp_path / name, lines, zipped=zipped)


@pytest.mark.parametrize("zipped", [False, True])
def test_import_then_reimport(tmp_path: Path, ferret_db: Any, zipped: bool) -> None:
    store = MongoQuoteStore(ferret_db)
    path = build(tmp_path, zipped)
    progress: list[tuple[int, int, int]] = []
    first = import_file(path, store, batch_size=16, progress=lambda *a: progress.append(a))
    assert (first.records, first.imported, first.skipped, first.malformed) == (80, 60, 20, 1)
    assert first.malformed_samples == [(6, "length 19, expected 245")]
    assert progress[-1][0] == progress[-1][1]  # finished: every byte read
    second = import_file(path, store)
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 60)
    assert store.bars_collection.count_documents({}) == 60
    bars = store.bars("PETR4", "1d", datetime(2025, 1, 1).astimezone(), datetime(2025, 3, 1).astimezone())
    assert len(bars) == 20 and bars[0].close_cents == 3710 and bars[-1].close_cents == 3729
    assert bars[0].source == "cotahist" and bars[1].start - bars[0].start >= timedelta(days=1)
    assert store.known("PETR4F") and not store.known("PETRA400")


def test_command_line(tmp_path: Path, ferret_db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = build(tmp_path)
    rc = main(["import", str(path), "--mongodb-uri", "mongodb://127.0.0.1:27017/", "--database", ferret_db.name,
               "--markets", "all", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "80 quote records" in out and "malformed 1" in out and "malformed line 6" in out
    assert ferret_db["bars"].count_documents({}) == 80
    assert main(["parse", str(tmp_path / "missing.TXT"), "--no-progress"]) == 1
