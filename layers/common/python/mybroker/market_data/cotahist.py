"""B3 COTAHIST historical quote files: a streaming parser and the import command.

Files (``COTAHIST_A<YYYY>``, ``_M<MMYYYY>``, ``_D<DDMMYYYY>``, ``.TXT`` or ``.ZIP``) hold fixed-width 245-byte
latin-1 records: ``00`` header, ``01`` quote, ``99`` trailer. Quote fields (1-based, inclusive):
date 3-10, BDI 11-12, ticker 13-24, market type 25-27, short name 28-39, specification 40-49, open 57-69,
high 70-82, low 83-95, average 96-108, close 109-121, best bid 122-134, best ask 135-147, trades 148-152,
quantity 153-170, volume 171-188, quotation factor 211-217, ISIN 231-242. Prices/volume have 2 implied
decimals, i.e. they already are cents (per ``quotation factor`` shares).

The parser is a generator over lines (a zip member is read as a stream): memory stays flat whatever the file
size. A malformed line is yielded as :class:`Malformed` (line number and reason) and parsing goes on.

Import (daily bars, upserted by ticker + date, so re-importing a file creates no duplicates)::

    python -m mybroker.market_data.cotahist import COTAHIST_A2024.ZIP [--markets 010,020] [--refresh]
    python -m mybroker.market_data.cotahist parse COTAHIST_D02012025.TXT     # count only, no database
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from mybroker.market_data.domain import Bar, day_start

RECORD_LENGTH = 245
DEFAULT_MARKETS = frozenset({10, 20})  # cash (round lot) and fractional
MAX_SAMPLES = 20


@dataclass(frozen=True)
class CotahistRecord:
    trade_date: date
    bdi: str
    ticker: str
    market_type: int
    short_name: str
    specification: str
    open_cents: int
    high_cents: int
    low_cents: int
    avg_cents: int
    close_cents: int
    best_bid_cents: int
    best_ask_cents: int
    trades: int
    quantity: int
    volume_cents: int
    quote_factor: int
    isin: str

    def price(self, raw: int) -> int:
        """Cents per share (prices are quoted per ``quote_factor`` shares)."""
        f = self.quote_factor
        return raw if f <= 1 else max(1, (2 * raw + f) // (2 * f))  # rounded half up, in integers

    def bar(self) -> Bar:
        return Bar(ticker=self.ticker, interval="1d", start=day_start(self.trade_date),
                   open_cents=self.price(self.open_cents), high_cents=self.price(self.high_cents),
                   low_cents=self.price(self.low_cents), close_cents=self.price(self.close_cents),
                   volume=self.quantity, trades=self.trades, notional_cents=self.volume_cents, source="cotahist",
                   extra={"avg": self.price(self.avg_cents), "isin": self.isin, "bdi": self.bdi,
                          "market_type": self.market_type, "quote_factor": self.quote_factor})


@dataclass(frozen=True)
class Malformed:
    line_no: int
    reason: str


class MalformedRecord(ValueError):
    pass


def _int(line: bytes, start: int, end: int, name: str) -> int:
    """Field at 1-based inclusive positions ``start..end`` as an unsigned integer."""
    raw = line[start - 1:end]
    if not raw.strip().isdigit():
        raise MalformedRecord(f"{name} is not a number: {raw.decode('latin-1')!r}")
    return int(raw)


def _text(line: bytes, start: int, end: int) -> str:
    return line[start - 1:end].decode("latin-1").strip()


def parse_line(line: bytes) -> CotahistRecord | None:
    """One record (without its line ending): a quote, or None for a header/trailer. Raises MalformedRecord."""
    if len(line) != RECORD_LENGTH:
        raise MalformedRecord(f"length {len(line)}, expected {RECORD_LENGTH}")
    kind = line[0:2]
    if kind in (b"00", b"99"):
        return None
    if kind != b"01":
        raise MalformedRecord(f"unknown record type {kind.decode('latin-1')!r}")
    d = _text(line, 3, 10)
    try:
        trade_date = date(int(d[0:4]), int(d[4:6]), int(d[6:8]))
    except ValueError:
        raise MalformedRecord(f"bad trade date {d!r}") from None
    ticker = _text(line, 13, 24)
    if not ticker:
        raise MalformedRecord("empty ticker")
    rec = CotahistRecord(
        trade_date=trade_date, bdi=_text(line, 11, 12), ticker=ticker, market_type=_int(line, 25, 27, "market type"),
        short_name=_text(line, 28, 39), specification=_text(line, 40, 49),
        open_cents=_int(line, 57, 69, "open"), high_cents=_int(line, 70, 82, "high"),
        low_cents=_int(line, 83, 95, "low"), avg_cents=_int(line, 96, 108, "average"),
        close_cents=_int(line, 109, 121, "close"), best_bid_cents=_int(line, 122, 134, "best bid"),
        best_ask_cents=_int(line, 135, 147, "best ask"), trades=_int(line, 148, 152, "trades"),
        quantity=_int(line, 153, 170, "quantity"), volume_cents=_int(line, 171, 188, "volume"),
        quote_factor=_int(line, 211, 217, "quotation factor"), isin=_text(line, 231, 242))
    if rec.high_cents < rec.low_cents:
        raise MalformedRecord("high below low")
    if min(rec.open_cents, rec.high_cents, rec.low_cents, rec.close_cents) <= 0:
        raise MalformedRecord("non-positive price")
    return rec


class Source:
    """The lines of a COTAHIST file, plain or zipped (every member, in order), and how far reading got."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.consumed = 0
        if zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as zf:
                self.total = sum(i.file_size for i in zf.infolist() if not i.is_dir())
        else:
            self.total = self.path.stat().st_size

    def _streams(self) -> Iterator[IO[bytes]]:
        if zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        with zf.open(info) as member:
                            yield member
        else:
            with open(self.path, "rb") as f:
                yield f

    def lines(self) -> Iterator[bytes]:
        for stream in self._streams():
            for raw in stream:
                self.consumed += len(raw)
                line = raw.rstrip(b"\r\n")
                if line:
                    yield line


def iter_records(lines: Iterable[bytes]) -> Iterator[CotahistRecord | Malformed]:
    """Quotes and malformed-line reports, in file order; headers and trailers are dropped."""
    for n, line in enumerate(lines, start=1):
        try:
            rec = parse_line(line)
        except MalformedRecord as exc:
            yield Malformed(n, str(exc))
            continue
        if rec is not None:
            yield rec


@dataclass
class ImportReport:
    records: int = 0  # quote records read
    imported: int = 0  # bars created
    updated: int = 0  # bars that changed
    unchanged: int = 0  # bars already identical (a re-import)
    skipped: int = 0  # other markets (options, forwards, ...)
    malformed: int = 0
    malformed_samples: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


Progress = Callable[[int, int, int], None]  # (bytes done, bytes total, records)


def import_file(path: str | os.PathLike[str], store: Any, markets: frozenset[int] | None = DEFAULT_MARKETS,
                batch_size: int = 2000, progress: Progress | None = None, refresh: bool = False) -> ImportReport:
    """Upsert the daily bars of one COTAHIST file into ``store`` (``upsert_bars``); ``markets=None`` takes all.
    Bars already stored are kept as they are, unless ``refresh`` (then those that differ are rewritten)."""
    t0 = time.perf_counter()
    src = Source(path)
    report = ImportReport()
    batch: list[Bar] = []

    def flush() -> None:
        if batch:
            r = store.upsert_bars(batch, refresh=refresh)
            report.imported += r.inserted
            report.updated += r.modified
            report.unchanged += r.unchanged
            batch.clear()

    for item in iter_records(src.lines()):
        if isinstance(item, Malformed):
            report.malformed += 1
            if len(report.malformed_samples) < MAX_SAMPLES:
                report.malformed_samples.append((item.line_no, item.reason))
            continue
        report.records += 1
        if markets is not None and item.market_type not in markets:
            report.skipped += 1
            continue
        batch.append(item.bar())
        if len(batch) >= batch_size:
            flush()
            if progress is not None:
                progress(src.consumed, src.total, report.records)
    flush()
    if progress is not None:
        progress(src.consumed, src.total, report.records)
    report.seconds = time.perf_counter() - t0
    return report


def parse_file(path: str | os.PathLike[str], progress: Progress | None = None) -> ImportReport:
    """Parse only (no database): counts, for checking a file and for the benchmark."""
    t0 = time.perf_counter()
    src = Source(path)
    report = ImportReport()
    for item in iter_records(src.lines()):
        if isinstance(item, Malformed):
            report.malformed += 1
            if len(report.malformed_samples) < MAX_SAMPLES:
                report.malformed_samples.append((item.line_no, item.reason))
        else:
            report.records += 1
            if progress is not None and report.records % 20000 == 0:
                progress(src.consumed, src.total, report.records)
    if progress is not None:
        progress(src.consumed, src.total, report.records)
    report.seconds = time.perf_counter() - t0
    return report


class ProgressBar:
    """A one-line text progress bar on stderr, redrawn at most every ``every_s`` seconds."""

    def __init__(self, label: str, stream: IO[str] = sys.stderr, width: int = 30, every_s: float = 0.2) -> None:
        self.label, self.stream, self.width, self.every_s = label, stream, width, every_s
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int, records: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s and done < total:
            return
        self.last = now
        frac = min(1.0, done / total) if total else 1.0
        filled = int(frac * self.width)
        rate = records / (now - self.t0) if now > self.t0 else 0.0
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {frac:6.1%} "
                          f"{records:,} records {rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _markets(text: str) -> frozenset[int] | None:
    if text.strip().lower() == "all":
        return None
    return frozenset(int(p) for p in text.split(",") if p.strip())


def _print_report(name: str, r: ImportReport) -> None:
    print(f"{name}: {r.records:,} quote records in {r.seconds:.1f}s ({r.rate:,.0f}/s); "
          f"bars new {r.imported:,}, changed {r.updated:,}, unchanged {r.unchanged:,}; "
          f"other markets skipped {r.skipped:,}; malformed {r.malformed:,}")
    for line_no, reason in r.malformed_samples:
        print(f"  malformed line {line_no}: {reason}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mybroker.market_data.cotahist", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="upsert daily bars into MongoDB")
    imp.add_argument("files", nargs="+")
    imp.add_argument("--mongodb-uri", default=None, help="default: MONGODB_URI / MONGODB_URI_PARAMETER")
    imp.add_argument("--database", default=os.environ.get("MARKET_DATA_DATABASE", "market_data"))
    imp.add_argument("--prefix", default=os.environ.get("MARKET_DATA_COLLECTION_PREFIX", ""))
    imp.add_argument("--markets", default="010,020", help="market types to keep (010 cash, 020 fractional) or all")
    imp.add_argument("--batch", type=int, default=2000)
    imp.add_argument("--refresh", action="store_true", help="rewrite stored days that differ (corrected files)")
    imp.add_argument("--no-progress", action="store_true")
    par = sub.add_parser("parse", help="parse and count only")
    par.add_argument("files", nargs="+")
    par.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    store = None
    if args.command == "import":
        from pymongo import MongoClient

        from mybroker.market_data.storage import MongoQuoteStore
        from mybroker.settings import settings

        uri = args.mongodb_uri or settings().mongodb()
        store = MongoQuoteStore(MongoClient(uri, tz_aware=True)[args.database], prefix=args.prefix)
        store.ensure_schema()
    failed = 0
    for name in args.files:
        bar = None if args.no_progress else ProgressBar(Path(name).name)
        try:
            if store is not None:
                report = import_file(name, store, _markets(args.markets), args.batch, bar, args.refresh)
            else:
                report = parse_file(name, bar)
        except OSError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        finally:
            if bar is not None:
                bar.close()
        _print_report(name, report)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
