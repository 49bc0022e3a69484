"""Strict request types shared by every HTTP API: what a client may send, and nothing is coerced.

Money and quantities are JSON integers (cents, shares) within the bounds below: ``"100"``, ``true``, ``100.0``
and ``" 100 "`` are refused, not read as 100. Query strings carry text, so a query integer is plain decimal
digits (no sign, blanks, ``+`` or ``_``) and a date is ``YYYY-MM-DD``; dates and date-times lie in
``MIN_DATE..MAX_DATE``. The bounds are documented in ``docs/api.md``: change both together.

Why these bounds: a price times a quantity (at most 10^18 cents) stays inside a signed 64-bit column, the
MySQL ``BIGINT`` every service stores cents in, with room for fees; nothing a real B3 order needs comes near.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

MAX_SHARES = 1_000_000_000  # shares in one order, reservation or round lot
MAX_PRICE_CENTS = 1_000_000_000  # R$ 10,000,000.00 a share (a limit, stop or tick size)
MAX_PAGE_LIMIT = 200  # items in one page of a list
MAX_OFFSET = 100_000  # items skipped by ?offset= (filter by date or ticker to reach further)
MAX_ID = 2**63 - 1  # a stored id (statement cursors): a MySQL BIGINT
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)

_DIGITS = re.compile(r"[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?", re.IGNORECASE)
_RANGE = f"between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"


def strict_int(lo: int, hi: int, description: str | None = None) -> Any:
    """A JSON integer in ``lo..hi``: no strings, booleans or floats (pydantic strict mode)."""
    return Field(strict=True, ge=lo, le=hi, description=description)


Shares = Annotated[int, strict_int(1, MAX_SHARES)]
PriceCents = Annotated[int, strict_int(1, MAX_PRICE_CENTS)]
Percent = Annotated[int, strict_int(1, 100)]


def _query_int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError("a whole number in plain decimal digits")


QueryInt = Annotated[int, BeforeValidator(_query_int)]
"""A query-string integer: ``50``, never ``" 50 "``, ``+50``, ``5_0``, ``50.0`` or 5,000 digits."""

PageLimit = Annotated[QueryInt, Field(ge=1, le=MAX_PAGE_LIMIT, description=f"items per page, 1..{MAX_PAGE_LIMIT}")]
PageOffset = Annotated[QueryInt, Field(ge=0, le=MAX_OFFSET, description=f"items to skip, 0..{MAX_OFFSET}")]
Cursor = Annotated[QueryInt, Field(ge=1, le=MAX_ID)]


def _in_range(day: date) -> None:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"a date {_RANGE}")


def _iso_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        day = date.fromisoformat(value)  # ValueError for 2026-02-30
    else:
        raise ValueError("a date YYYY-MM-DD")
    _in_range(day)
    return day


def _iso_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and _DATETIME.fullmatch(value):
        moment = datetime.fromisoformat(value)  # ValueError for 25:00 or an unknown form
    else:
        raise ValueError("an ISO 8601 date-time, e.g. 2026-11-26T13:00:00-03:00")
    _in_range(moment.date())
    return moment


IsoDate = Annotated[date, BeforeValidator(_iso_date), Field(description=f"YYYY-MM-DD, {_RANGE}")]
"""A calendar date as ``YYYY-MM-DD`` (no timestamps, no date-times), from ``MIN_DATE`` to ``MAX_DATE``."""

IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime),
                        Field(description=f"ISO 8601 (naive = São Paulo time), {_RANGE}")]
"""An ISO 8601 date-time (``2026-11-26T13:00:00Z``, ``...-03:00`` or naive), its date within the range."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:~-]+$")]
"""An order id or another opaque key in a path: 1..64 of ``A-Z a-z 0-9 _ . : ~ -``."""

TickerText = Annotated[str, StringConstraints(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9]+$")]
"""A ticker as a client writes it (``petr4``, ``PETR4F``): letters and digits, at most 12."""
