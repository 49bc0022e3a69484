"""Shared test helpers: a COTAHIST record builder (from the documented layout) and API Gateway events."""

from __future__ import annotations

import json
import urllib.parse
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from infra.declarations import SYSTEM, Route
from local_runtime.http_api import Router, build_event

# --- COTAHIST --------------------------------------------------------------------------------------------
# (1-based start, 1-based inclusive end) of each field, as b3.md documents the layout
FIELDS: dict[str, tuple[int, int]] = {
    "type": (1, 2), "date": (3, 10), "bdi": (11, 12), "ticker": (13, 24), "market": (25, 27),
    "name": (28, 39), "spec": (40, 49), "open": (57, 69), "high": (70, 82), "low": (83, 95),
    "avg": (96, 108), "close": (109, 121), "bid": (122, 134), "ask": (135, 147), "trades": (148, 152),
    "qty": (153, 170), "volume": (171, 188), "factor": (211, 217), "isin": (231, 242),
}
NUMERIC = {"date", "market", "open", "high", "low", "avg", "close", "bid", "ask", "trades", "qty", "volume", "factor"}


def put(buf: bytearray, name: str, value: str | int) -> None:
    start, end = FIELDS[name]
    width = end - start + 1
    text = str(value).zfill(width) if name in NUMERIC else str(value).ljust(width)
    assert len(text) == width, (name, value)
    buf[start - 1:end] = text.encode("latin-1")


@dataclass
class Quote:
    ticker: str
    day: date
    open: int = 3500
    high: int = 3600
    low: int = 3400
    close: int = 3550
    qty: int = 1_000_000
    trades: int = 12_345
    market: int = 10
    bdi: str = "02"
    factor: int = 1
    isin: str = "BRPETRACNPR6"
    name: str = "PETROBRAS"

    def record(self) -> bytes:
        buf = bytearray(b" " * 245)
        values: dict[str, str | int] = {
            "type": "01", "date": self.day.strftime("%Y%m%d"), "bdi": self.bdi, "ticker": self.ticker,
            "market": self.market, "name": self.name, "spec": "PN      N2", "open": self.open, "high": self.high,
            "low": self.low, "avg": (self.high + self.low) // 2, "close": self.close, "bid": self.close - 1,
            "ask": self.close + 1, "trades": self.trades, "qty": self.qty, "volume": self.qty * self.close,
            "factor": self.factor, "isin": self.isin}
        for k, v in values.items():
            put(buf, k, v)
        buf[188:201] = b"0000000000000"  # PREEXE
        return bytes(buf)


def header(day: date) -> bytes:
    return f"00COTAHIST.{day.year:04d}BOVESPA {day:%Y%m%d}".ljust(245).encode("latin-1")


def trailer(count: int) -> bytes:
    return ("99COTAHIST.2025BOVESPA 20250102" + str(count + 2).zfill(11)).ljust(245).encode("latin-1")


def write_cotahist(path: Path, lines: Iterable[bytes], zipped: bool = False, newline: bytes = b"\r\n") -> Path:
    body = b"".join(line + newline for line in lines)
    if zipped:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(path.stem + ".TXT", body)
    else:
        path.write_bytes(body)
    return path


# --- API Gateway HTTP API events ------------------------------------------------------------------------
ROUTES: list[Route] = [r for r in SYSTEM.routes if r.function == "market-data-api"]
CONTEXT = SimpleNamespace(function_name="market-data-api", memory_limit_in_mb=256, aws_request_id="req-1",
                          invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:market-data-api")


def api_event(path: str, query: dict[str, str] | None = None, user: str | None = "user-1") -> dict[str, Any]:
    """The event API Gateway would send for GET ``path`` (matched against the declared routes)."""
    raw_path = urllib.parse.quote(path, safe="/,")
    found = Router(ROUTES).match("GET", raw_path)
    assert found is not None, f"no declared route for {path}"
    compiled, params = found
    claims = {"sub": user, "username": user} if user and compiled.route.authorized else None
    return build_event(method="GET", raw_path=raw_path, raw_query=urllib.parse.urlencode(query or {}),
                       headers={"host": "localhost"}, body=b"", compiled=compiled, path_params=params,
                       request_id="req-1", source_ip="127.0.0.1", domain="localhost", claims=claims)


def call(handler: Any, path: str, query: dict[str, str] | None = None,
         user: str | None = "user-1") -> tuple[int, Any]:
    result = handler(api_event(path, query, user), CONTEXT)
    body = result.get("body") or ""
    try:
        return int(result["statusCode"]), json.loads(body)
    except ValueError:
        return int(result["statusCode"]), body
