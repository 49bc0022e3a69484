"""A stand-in for brapi.dev on loopback: serves responses in brapi's documented shape, scripted per test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PRICES = {"PETR4": 38.12, "VALE3": 61.5, "ITUB4": 35.07, "BBDC4": 15.3, "BBAS3": 25.01, "ABEV3": 13.2,
          "WEGE3": 45.55, "B3SA3": 13.01, "BOVA11": 125.4, "HGLG11": 160.0}


def result(symbol: str, price: float | None = None, time_iso: str = "2025-11-17T14:00:00.000Z") -> dict[str, Any]:
    p = PRICES.get(symbol, 10.0) if price is None else price
    return {"symbol": symbol, "shortName": symbol, "longName": symbol, "currency": "BRL",
            "regularMarketPrice": p, "regularMarketChange": 0.1, "regularMarketChangePercent": 0.26,
            "regularMarketTime": time_iso, "regularMarketDayHigh": round(p * 1.01, 2),
            "regularMarketDayLow": round(p * 0.99, 2), "regularMarketDayRange": "x", "regularMarketVolume": 1234500,
            "regularMarketPreviousClose": round(p - 0.1, 2), "regularMarketOpen": round(p - 0.05, 2),
            "fiftyTwoWeekLow": p * 0.8, "fiftyTwoWeekHigh": p * 1.2, "marketCap": 1e11, "logourl": "x"}


def quotes_body(symbols: list[str], **kw: Any) -> dict[str, Any]:
    return {"results": [result(s, **kw) for s in symbols], "requestedAt": "2025-11-17T14:00:01.000Z", "took": "3ms"}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; bytes as is; None -> quotes for the requested symbols
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Script = Callable[[list[str], int], Reply]  # (requested symbols, request number from 1) -> reply


@dataclass
class Stub:
    base_url: str
    requests: list[tuple[str, dict[str, str]]]
    script: list[Script]


@contextmanager
def brapi_stub(script: Script | None = None) -> Iterator[Stub]:
    requests: list[tuple[str, dict[str, str]]] = []
    holder: list[Script] = [script or (lambda symbols, n: Reply())]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            path = self.path.split("?")[0]
            symbols = path.removeprefix("/api/quote/").split(",") if path.startswith("/api/quote/") else []
            reply = holder[0](symbols, len(requests))
            if reply.delay_s:
                time.sleep(reply.delay_s)
            body = reply.body if reply.body is not None else quotes_body(symbols)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Stub(f"http://127.0.0.1:{server.server_address[1]}", requests, holder)
    finally:
        server.shutdown()
        server.server_close()
