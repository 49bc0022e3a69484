"""Instruments traded on B3's cash market, and the rules an order is checked against."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from mybroker.contracts.api import Camel
from mybroker.contracts.requests import Percent, PriceCents, Shares

TICKER = re.compile(r"^[A-Z][A-Z0-9]{3}(3|4|5|6|7|8|11|3[1-5])$")


class InstrumentKind(StrEnum):
    SHARE_ON = "SHARE_ON"
    SHARE_PN = "SHARE_PN"
    UNIT = "UNIT"
    FII = "FII"
    ETF = "ETF"
    BDR = "BDR"


class InstrumentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


def isin_check_digit(first11: str) -> int:
    """ISO 6166 check digit: letters become numbers (A=10), then the Luhn algorithm."""
    digits = "".join(str(int(c, 36)) for c in first11)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def isin_is_valid(isin: str) -> bool:
    return (len(isin) == 12 and isin[:2].isalpha() and isin.isalnum() and isin.isupper()
            and isin[-1].isdigit() and isin_check_digit(isin[:11]) == int(isin[-1]))


class Instrument(BaseModel):
    ticker: str = Field(description="B3 ticker of the round-lot market, e.g. PETR4")
    name: str = Field(min_length=1, max_length=120)
    isin: str
    kind: InstrumentKind
    round_lot: int = Field(default=100, ge=1, description="shares per round lot")
    tick_size_cents: int = Field(default=1, ge=1)
    status: InstrumentStatus = InstrumentStatus.ACTIVE
    rejection_tunnel_pct: int = Field(default=10, ge=1, le=100, description="orders priced further from the "
                                      "reference price than this are refused (unconfirmed default)")
    auction_tunnel_pct: int = Field(default=5, ge=1, le=100, description="a trade further than this from the "
                                    "reference price starts a volatility auction (unconfirmed default)")

    @property
    def fractional_ticker(self) -> str:
        return f"{self.ticker}F"

    @field_validator("ticker")
    @classmethod
    def _ticker(cls, v: str) -> str:
        if not TICKER.match(v):
            raise ValueError("a B3 ticker is four letters and a share class number, e.g. PETR4, BOVA11")
        return v

    @field_validator("isin")
    @classmethod
    def _isin(cls, v: str) -> str:
        if not isin_is_valid(v):
            raise ValueError("not a valid ISIN (ISO 6166 check digit)")
        return v


class InstrumentView(Instrument):
    """An instrument as the API shows it (camelCase JSON)."""

    model_config = Camel.model_config

    fractional: str = Field(description="ticker of the fractional market (1 to round_lot - 1 shares)")

    @classmethod
    def of(cls, i: Instrument) -> InstrumentView:
        return cls(**i.model_dump(), fractional=i.fractional_ticker)


class InstrumentCreate(Instrument):
    """POST /assets: a new instrument (camelCase JSON), its numbers strict integers (``contracts.requests``)."""

    model_config = Camel.model_config

    round_lot: Shares = Field(default=100, description="shares per round lot")
    tick_size_cents: PriceCents = 1
    rejection_tunnel_pct: Percent = Field(default=10, description="orders priced further from the reference "
                                          "price than this are refused (unconfirmed default)")
    auction_tunnel_pct: Percent = Field(default=5, description="a trade further than this from the reference "
                                        "price starts a volatility auction (unconfirmed default)")


class InstrumentPatch(Camel):
    """PATCH /assets/{ticker}: only the fields sent change; the ticker itself cannot."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    isin: str | None = None
    kind: InstrumentKind | None = None
    round_lot: Shares | None = None
    tick_size_cents: PriceCents | None = None
    status: InstrumentStatus | None = None
    rejection_tunnel_pct: Percent | None = None
    auction_tunnel_pct: Percent | None = None

    def apply(self, current: Instrument) -> tuple[Instrument, tuple[str, ...]]:
        """The instrument after the patch (validated as a whole) and the fields that actually changed."""
        changes = {k: v for k, v in self.model_dump(exclude_unset=True, by_alias=False).items() if v is not None}
        updated = Instrument.model_validate({**current.model_dump(), **changes})
        changed = tuple(k for k in changes if getattr(updated, k) != getattr(current, k))
        return updated, changed
