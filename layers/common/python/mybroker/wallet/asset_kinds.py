"""The asset catalog as the wallet's reports read it: each holding's tax kind, over the assets API."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from mybroker.tax.rules import AssetKind
from mybroker.wallet.reports import KIND_OF_INSTRUMENT


class CatalogUnavailable(RuntimeError):
    pass


class HttpAssetKinds:
    """``GET {API_URL}/assets/{ticker}`` with the caller's own token (the catalog is readable by any user)."""

    def __init__(self, api_url: str, authorization: str, timeout_s: float = 3.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.authorization = authorization
        self.timeout_s = timeout_s

    def kinds(self, tickers: Iterable[str]) -> dict[str, AssetKind]:
        out: dict[str, AssetKind] = {}
        for ticker in tickers:
            req = urllib.request.Request(f"{self.api_url}/assets/{urllib.parse.quote(ticker)}",
                                         headers={"Authorization": self.authorization})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                    body = json.loads(r.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    continue
                raise CatalogUnavailable(f"the assets service answered {exc.code}") from exc
            except (OSError, ValueError) as exc:
                raise CatalogUnavailable(f"the assets service did not answer: {exc}") from exc
            kind = KIND_OF_INSTRUMENT.get(str(body.get("kind", "")))
            if kind is not None:
                out[ticker] = kind
        return out
