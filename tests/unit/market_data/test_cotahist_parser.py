"""COTAHIST parsing from files the tests build themselves, following the documented 245-byte layout."""

from __future__ import annotations

import io
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from mybroker.market_data.cotahist import (
    CotahistRecord,
    Malformed,
    MalformedRecord,
    ProgressBar,
    Source,
    iter_records,
    parse_file,
    parse_line,
)

from tests.unit.market_data.helpers import Quote, header, trailer, write_cotahist

DAY = date(2025, 1, 2)


def test_parse_one_quote_record() -> None:
    rec = parse_line(Quote("PETR4", DAY, open=3701, high=3755, low=3690, close=3744, qty=45_000_000).record())
    assert isinstance(rec, CotahistRecord)
    assert (rec.ticker, rec.trade_date, rec.market_type, rec.bdi) == ("PETR4", DAY, 10, "02")
    assert (rec.open_cents, rec.high_cents, rec.low_cents, rec.close_cents) == (3701, 3755, 3690, 3744)
    assert rec.quantity == 45_000_000 and rec.volume_cents == 45_000_000 * 3744 and rec.trades == 12_345
    assert rec.isin == "BRPETRACNPR6" and rec.short_name == "PETROBRAS" and rec.quote_factor == 1
    bar = rec.bar()
    assert bar.interval == "1d" and bar.close_cents == 3744 and bar.volume == 45_000_000


def test_quotation_factor_normalises_to_cents_per_share() -> None:
    rec = parse_line(Quote("XPTO3", DAY, open=150000, high=151000, low=149000, close=150500, factor=1000).record())
    assert rec is not None and rec.bar().close_cents == 151  # R$1505.00 per 1000 shares -> R$1.51 per share


def test_header_and_trailer_are_not_quotes() -> None:
    assert parse_line(header(DAY)) is None and parse_line(trailer(0)) is None


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b[:200], "length"),
    (lambda b: b"07" + b[2:], "record type"),
    (lambda b: b[:2] + b"20251399" + b[10:], "trade date"),
    (lambda b: b[:56] + b"ABCDEFGHIJKLM" + b[69:], "open"),
    (lambda b: b[:12] + b" " * 12 + b[24:], "empty ticker"),
])
def test_malformed_lines(mutate: object, reason: str) -> None:
    line = mutate(Quote("PETR4", DAY).record())  # type: ignore[operator]
    with pytest.raises(MalformedRecord, match=reason):
        parse_line(line)


def test_high_below_low_is_malformed() -> None:
    with pytest.raises(MalformedRecord):
        parse_line(Quote("PETR4", DAY, high=100, low=200).record())


def test_stream_reports_malformed_lines_and_goes_on(tmp_path: Path) -> None:
    lines = [header(DAY), Quote("PETR4", DAY).record(), b"garbage", Quote("VALE3", DAY).record(),
             Quote("ITUB4", DAY).record()[:-1] + b"\xe9", trailer(3)]
    path = write_cotahist(tmp_path / "COTAHIST_D02012025.TXT", lines)
    items = list(iter_records(Source(path).lines()))
    assert [i.ticker for i in items if isinstance(i, CotahistRecord)] == ["PETR4", "VALE3", "ITUB4"]
    assert items[1] == Malformed(3, "length 7, expected 245")


@pytest.mark.parametrize("zipped", [False, True])
@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_plain_and_zipped_files(tmp_path: Path, zipped: bool, newline: bytes) -> None:
    recs = [Quote(t, DAY).record() for t in ("PETR4", "VALE3", "BOVA11")]
    path = write_cotahist(tmp_path / ("COTAHIST_A2025.ZIP" if zipped else "COTAHIST_A2025.TXT"),
                          [header(DAY), *recs, trailer(3)], zipped=zipped, newline=newline)
    src = Source(path)
    report = parse_file(path)
    assert report.records == 3 and report.malformed == 0
    assert src.total == 5 * (245 + len(newline))


def test_parser_is_streaming(tmp_path: Path) -> None:
    """Memory does not grow with the file: parse 10k records while tracing allocations."""
    line = Quote("PETR4", DAY).record()
    path = tmp_path / "big.TXT"
    with path.open("wb") as f:
        for _ in range(10_000):
            f.write(line + b"\r\n")
    tracemalloc.start()
    count = sum(1 for _ in iter_records(Source(path).lines()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 10_000 and peak < 1_000_000  # the file is 2.5 MB


def test_progress_bar_draws() -> None:
    out = io.StringIO()
    bar = ProgressBar("file", stream=out, every_s=0)
    bar(50, 100, 10)
    bar(100, 100, 20)
    bar.close()
    assert "50.0%" in out.getvalue() and "100.0%" in out.getvalue() and "20 records" in out.getvalue()
