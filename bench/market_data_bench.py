"""Market-data benchmark, one command: ``.venv/bin/python bench/market_data_bench.py [--records 200000]``.

Prints:
- COTAHIST: a generated file of N quote records; a plain line count of the same file (the I/O baseline),
  the streaming parse, and the import into MongoDB (FerretDB unless MONGODB_URI says otherwise): rows/s and
  the ratio to the baseline.
- Ingestion to Redis: one synthetic ingestion pass (10 tickers: MongoDB ticks+bars, Redis, Kafka) per
  simulated minute; latency from the pass start until the quote is readable in Redis, p50/p99; and the hot
  cache's read latency.

Uses throwaway names (database ``md_bench_*``, Redis prefix ``mbbench:*``, topic ``quotes-bench-*``) and
removes them at the end. Needs the local services (Redis, Kafka, FerretDB) running.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from mybroker.b3.calendar import add_business_days  # noqa: E402
from mybroker.b3.session import SAO_PAULO  # noqa: E402
from mybroker.market_data.cotahist import import_file, parse_file  # noqa: E402

TICKERS = ("PETR4", "VALE3", "ITUB4", "BBDC4", "BBAS3", "ABEV3", "WEGE3", "B3SA3", "BOVA11", "HGLG11")


def record(ticker: str, d: date, close: int, market: int = 10) -> bytes:
    """A 245-byte COTAHIST quote record (layout as in mybroker.market_data.cotahist)."""
    buf = bytearray(b" " * 245)

    def put(start: int, end: int, value: str | int, numeric: bool = True) -> None:
        width = end - start + 1
        buf[start - 1:end] = (str(value).zfill(width) if numeric else str(value).ljust(width)).encode("latin-1")

    put(1, 2, "01", False)
    put(3, 10, d.strftime("%Y%m%d"))
    put(11, 12, "02", False)
    put(13, 24, ticker, False)
    put(25, 27, market)
    put(28, 39, ticker, False)
    for s, e, v in ((57, 69, close - 5), (70, 82, close + 40), (83, 95, close - 40), (96, 108, close),
                    (109, 121, close), (122, 134, close - 1), (135, 147, close + 1)):
        put(s, e, v)
    put(148, 152, 1234)
    put(153, 170, 1_000_000)
    put(171, 188, 1_000_000 * close)
    put(211, 217, 1)
    put(231, 242, "BRXXXXACNOR0", False)
    return bytes(buf)


def generate(path: Path, n: int) -> None:
    """``n`` quote records: 1,000 tickers a day over as many business days as needed."""
    tickers = ["".join(chr(65 + (i // 26 ** k) % 26) for k in range(4)) + "3" for i in range(1000)]
    days = [add_business_days(date(2024, 1, 1), k) for k in range(1, n // len(tickers) + 2)]
    with path.open("wb") as f:
        f.write(b"00COTAHIST.2024BOVESPA 20241231".ljust(245) + b"\r\n")
        written = 0
        for d in days:
            for i, t in enumerate(tickers):
                if written >= n:
                    break
                f.write(record(t, d, 1000 + (i * 7 + d.toordinal()) % 5000) + b"\r\n")
                written += 1
        f.write(b"99COTAHIST.2024BOVESPA 20241231".ljust(245) + b"\r\n")


def count_lines(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    with path.open("rb") as f:
        n = sum(1 for _ in f)
    return n, time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--passes", type=int, default=200, help="ingestion passes (simulated minutes)")
    ap.add_argument("--trades", type=int, default=20_000, help="engine trades applied in simulated mode")
    ap.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/"))
    args = ap.parse_args()

    import redis
    from kafka.admin import KafkaAdminClient, NewTopic
    from mybroker.contracts.exchange import TradeEvent
    from mybroker.market_data.cache import QuoteCache
    from mybroker.market_data.publisher import KafkaQuotePublisher
    from mybroker.market_data.service import apply_trades, ingest_once
    from mybroker.market_data.storage import MongoQuoteStore
    from mybroker.market_data.synthetic import SyntheticFeed
    from pymongo import MongoClient

    print(f"market-data benchmark  {datetime.now():%Y-%m-%d %H:%M}  nproc={os.cpu_count()}  "
          f"python {platform.python_version()}  {platform.machine()}")
    mongo: MongoClient[dict[str, object]] = MongoClient(args.mongodb_uri, tz_aware=True)
    kind = "FerretDB" if "ferretdbVersion" in mongo.server_info() else "MongoDB"
    dbname = f"md_bench_{uuid.uuid4().hex[:8]}"
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"mbbench:{uuid.uuid4().hex[:8]}:"
    topic = f"quotes-bench-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers="127.0.0.1:9092")
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "COTAHIST_BENCH.TXT"
            t0 = time.perf_counter()
            generate(path, args.records)
            size_mb = path.stat().st_size / 1e6
            print(f"\nCOTAHIST file: {args.records:,} records, {size_mb:.1f} MB (generated in "
                  f"{time.perf_counter() - t0:.1f}s)")
            lines, base_s = count_lines(path)
            print(f"  line count baseline   {lines / base_s:>12,.0f} lines/s  ({base_s:.2f}s)")
            parsed = parse_file(path)
            print(f"  streaming parse       {parsed.records / parsed.seconds:>12,.0f} rows/s   ({parsed.seconds:.2f}s, "
                  f"{parsed.seconds / base_s:.1f}x the line count)  malformed={parsed.malformed}")
            store = MongoQuoteStore(mongo[dbname], prefix="cotahist_")
            store.ensure_schema()
            imp = import_file(path, store, markets=None)
            print(f"  import into {kind:<9} {imp.records / imp.seconds:>12,.0f} rows/s   ({imp.seconds:.1f}s, "
                  f"{imp.seconds / base_s:.0f}x the line count)  new bars={imp.imported:,}")
            again = import_file(path, store, markets=None)
            print(f"  re-import (no-op)     {again.records / again.seconds:>12,.0f} rows/s   ({again.seconds:.1f}s)  "
                  f"new={again.imported} unchanged={again.unchanged:,}")

        store = MongoQuoteStore(mongo[dbname], prefix="ingest_")
        cache = QuoteCache(r, prefix)
        publisher = KafkaQuotePublisher.connect(topic)
        feed = SyntheticFeed(seed=1)
        start = datetime(2025, 11, 17, 10, 0, 30, tzinfo=SAO_PAULO)
        ingest_once(start - timedelta(minutes=1), TICKERS, feed, store, cache, publisher)  # warm up
        to_redis: list[float] = []
        whole: list[float] = []
        for m in range(args.passes):
            now = start + timedelta(minutes=m % 470, days=7 * (m // 470))
            t0 = time.perf_counter()
            ingest_once(now, TICKERS, feed, store, cache, publisher)
            seen = cache.latest("PETR4")
            t1 = time.perf_counter()
            assert seen is not None and seen.ts == now
            whole.append((t1 - t0) * 1000)
        # the cache step alone: provider quote in hand -> readable in Redis
        events = [cache.latest(t) for t in TICKERS]
        for _ in range(args.passes):
            t0 = time.perf_counter()
            cache.put_many([e for e in events if e is not None])
            cache.latest("PETR4")
            to_redis.append((time.perf_counter() - t0) * 1000)
        reads: list[float] = []
        for _ in range(2000):
            t0 = time.perf_counter()
            cache.last_price_cents("PETR4")
            reads.append((time.perf_counter() - t0) * 1000)
        # simulated mode: the engine's trades in the mapping's batches of 500 -> ticks, bars, cache, Kafka
        trade_store = MongoQuoteStore(mongo[dbname], prefix="trades_")
        opened = datetime(2025, 11, 18, 10, 5, tzinfo=SAO_PAULO)
        t_ns = int(opened.timestamp()) * 1_000_000_000
        trades = [TradeEvent(instrument=TICKERS[i % len(TICKERS)], seq=i + 1, ts_ns=t_ns + i * 20_000_000,
                             trade_id=i + 1, price_cents=3800 + (i * 7919) % 41 - 20, quantity=100 * (1 + i % 5),
                             aggressor_side="BUY") for i in range(args.trades)]
        batches: list[float] = []
        redelivered: list[float] = []
        t_all = time.perf_counter()
        for b in range(0, len(trades), 500):
            t0 = time.perf_counter()
            apply_trades(trades[b:b + 500], trade_store, cache, publisher, "simulated")
            batches.append((time.perf_counter() - t0) * 1000)
        applied_s = time.perf_counter() - t_all
        for b in range(0, len(trades), 500):
            t0 = time.perf_counter()
            apply_trades(trades[b:b + 500], trade_store, cache, publisher, "simulated")
            redelivered.append((time.perf_counter() - t0) * 1000)
        publisher.close()
        print(f"\nSimulated mode: {len(trades):,} engine trades, {len(TICKERS)} instruments, batches of 500 ({kind})")
        print(f"  applied (ticks, bars, cache, Kafka)     {len(trades) / applied_s:>8,.0f} trades/s   "
              f"batch p50 {pct(batches, 50):6.1f} ms   p99 {pct(batches, 99):6.1f} ms")
        print(f"  the same batches redelivered (no-op)    batch p50 {pct(redelivered, 50):6.1f} ms   "
              f"p99 {pct(redelivered, 99):6.1f} ms")
        print(f"\nIngestion ({len(TICKERS)} tickers per pass, {args.passes} passes; {kind}, Redis, Kafka acks=all)")
        print(f"  pass start -> quote readable in Redis   p50 {pct(whole, 50):6.2f} ms   p99 {pct(whole, 99):6.2f} ms")
        print(f"  cache write (10 quotes) -> readable     p50 {pct(to_redis, 50):6.3f} ms   "
              f"p99 {pct(to_redis, 99):6.3f} ms")
        print(f"  hot-cache read (last price)             p50 {pct(reads, 50):6.3f} ms   p99 {pct(reads, 99):6.3f} ms"
              f"   mean {statistics.fmean(reads):.3f} ms")
    finally:
        mongo.drop_database(dbname)
        keys = list(r.scan_iter(match=f"{prefix}*"))
        if keys:
            r.delete(*keys)
        admin.delete_topics([topic])
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
