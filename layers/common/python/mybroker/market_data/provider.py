"""The one small interface every live quote source implements, and the choice among them by env var."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mybroker.market_data.domain import ProviderQuote


class ProviderError(Exception):
    """The provider could not answer (down, slow, over quota): callers log it and go on."""


@dataclass
class FetchResult:
    """Partial results are normal: ``quotes`` holds what arrived, ``failed`` why the rest did not."""

    quotes: list[ProviderQuote] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # ticker -> reason
    requests: int = 0  # HTTP requests made (quota accounting)
    retries: int = 0


class QuoteProvider(Protocol):
    name: str

    def fetch(self, tickers: Sequence[str], now: datetime) -> FetchResult:
        """Latest quotes for ``tickers`` as of ``now``. Never raises for a per-ticker problem (it goes to
        ``failed``); may raise :class:`ProviderError` when nothing at all could be fetched."""
        ...
