"""A synthetic B3 feed for offline runs and demos: deterministic for (seed, ticker, timestamp).

Model, per ticker:

- Daily closes follow a mean-reverting log level around a base price (an AR(1) built from the last 60
  days' shocks, so any day is computed without state), with the ticker's annual volatility ``sigma``.
- Within a session, minute log-returns are Gaussian with the same sigma scaled to a minute, plus rare
  jumps (probability ``JUMP_PROB`` a minute, 6 minute-sigmas); the path is pinned as a Brownian bridge to
  the day's open (previous close plus an overnight gap) and close, so days join up.
- Minute volume follows a U-shaped intraday curve (heavy at the open and close) with log-normal noise,
  in round lots of 100 shares.
- Prices snap to the R$0.01 tick (integer cents).

Only continuous trading minutes move the price; outside them the feed shows the last close.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from mybroker.b3.calendar import DEFAULT as CALENDAR
from mybroker.b3.session import Phase, day_schedule, local
from mybroker.market_data.domain import ProviderQuote, valid_ticker
from mybroker.market_data.provider import FetchResult

TRADING_DAYS = 252
AR_PHI = 0.97  # daily persistence of the log level around the base price
AR_WINDOW = 60
JUMP_PROB = 0.002
JUMP_SIGMAS = 6.0
GAP_FRACTION = 0.25  # overnight gap sd, as a fraction of the daily sd


@dataclass(frozen=True)
class Profile:
    base_cents: int
    sigma: float  # annualised volatility
    daily_volume: int  # shares


PROFILES: dict[str, Profile] = {
    "PETR4": Profile(3800, 0.30, 40_000_000),
    "PETR3": Profile(4100, 0.30, 12_000_000),
    "VALE3": Profile(6000, 0.28, 25_000_000),
    "ITUB4": Profile(3500, 0.22, 20_000_000),
    "BBDC4": Profile(1500, 0.28, 30_000_000),
    "BBAS3": Profile(2500, 0.28, 18_000_000),
    "ABEV3": Profile(1300, 0.20, 25_000_000),
    "WEGE3": Profile(4500, 0.28, 6_000_000),
    "B3SA3": Profile(1300, 0.32, 30_000_000),
    "MGLU3": Profile(900, 0.60, 15_000_000),
    "ITSA4": Profile(1050, 0.20, 25_000_000),
    "BOVA11": Profile(12500, 0.18, 3_000_000),
    "IVVB11": Profile(35000, 0.16, 400_000),
    "HGLG11": Profile(16000, 0.12, 60_000),
    "KNRI11": Profile(14500, 0.12, 40_000),
}


def _h(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int(struct.unpack(">Q", digest)[0])


def _gauss(*parts: object) -> float:
    return random.Random(_h(*parts)).gauss(0.0, 1.0)


def profile_for(ticker: str) -> Profile:
    """Known tickers have hand-set profiles; any other valid ticker gets a stable pseudo-random one."""
    p = PROFILES.get(ticker)
    if p is not None:
        return p
    h = _h("profile", ticker)
    return Profile(base_cents=1000 + h % 9000, sigma=0.25 + (h >> 16) % 20 / 100,
                   daily_volume=100_000 * (1 + (h >> 32) % 50))


def snap(log_price: float) -> int:
    return max(1, round(math.exp(log_price)))


class SyntheticFeed:
    """``fetch(tickers, now)`` gives the quotes a B3 feed would have shown at ``now``."""

    name = "synthetic"

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    # --- daily level -------------------------------------------------------------------------------
    def _daily_sd(self, ticker: str) -> float:
        return profile_for(ticker).sigma / math.sqrt(TRADING_DAYS)

    @lru_cache(maxsize=4096)  # noqa: B019 - bounded; keyed by (self, ticker, day); a feed lives as long as the process
    def log_close(self, ticker: str, day: date) -> float:
        """Log of the close (in cents) on business day ``day``."""
        sd = self._daily_sd(ticker)
        ordinal = day.toordinal()
        level = sum(AR_PHI ** k * _gauss(self.seed, ticker, "d", ordinal - k) for k in range(AR_WINDOW))
        level *= sd  # stationary sd ~ sd / sqrt(1 - phi^2)
        return math.log(profile_for(ticker).base_cents) + level

    def log_open(self, ticker: str, day: date) -> float:
        prev = CALENDAR.previous_business_day(day)
        gap = GAP_FRACTION * self._daily_sd(ticker) * _gauss(self.seed, ticker, "gap", day.toordinal())
        return self.log_close(ticker, prev) + gap

    # --- intraday ---------------------------------------------------------------------------------
    @lru_cache(maxsize=256)  # noqa: B019
    def session_path(self, ticker: str, day: date) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(price in cents at the end of each continuous minute, shares traded in that minute)."""
        sched = day_schedule(day)
        assert sched is not None
        cont = sched.window(Phase.CONTINUOUS)
        assert cont is not None
        n = int((cont.end - cont.start).total_seconds() // 60)
        p = profile_for(ticker)
        rng = random.Random(_h(self.seed, ticker, "intraday", day.toordinal()))
        minute_sd = self._daily_sd(ticker) / math.sqrt(n)
        walk = [0.0]
        for _ in range(n):
            step = rng.gauss(0.0, minute_sd)
            if rng.random() < JUMP_PROB:
                step += rng.choice((-1.0, 1.0)) * JUMP_SIGMAS * minute_sd * (1 + rng.random())
            walk.append(walk[-1] + step)
        lo, lc = self.log_open(ticker, day), self.log_close(ticker, day)
        prices = tuple(snap(lo + walk[i] - (i / n) * (walk[n] - (lc - lo))) for i in range(1, n + 1))
        weights = [0.45 + 4.0 * ((i + 0.5) / n - 0.5) ** 2 for i in range(n)]
        total = sum(weights)
        volumes = tuple(
            100 * max(0, round(p.daily_volume * w / total * math.exp(rng.gauss(-0.125, 0.5)) / 100))
            for w in weights)
        return prices, volumes

    def quote(self, ticker: str, now: datetime) -> ProviderQuote:
        t = local(now)
        day = t.date()
        sched = day_schedule(day)
        if sched is None or t < sched.open:
            # a closed day, or before the open: the last session's close, nothing traded yet
            close = snap(self.log_close(ticker, CALENDAR.previous_business_day(day)))
            return ProviderQuote(ticker=ticker, ts=now.astimezone(UTC), last_cents=close,
                                 prev_close_cents=close, day_volume=0)
        prices, volumes = self.session_path(ticker, day)
        minute = int((t - sched.open).total_seconds() // 60)
        upto = min(minute + 1, len(prices))
        seen = prices[:upto]
        open_cents = snap(self.log_open(ticker, day))
        prev_close = snap(self.log_close(ticker, CALENDAR.previous_business_day(day)))
        return ProviderQuote(ticker=ticker, ts=now.astimezone(UTC), last_cents=seen[-1],
                             open_cents=open_cents, high_cents=max(max(seen), open_cents),
                             low_cents=min(min(seen), open_cents), prev_close_cents=prev_close,
                             day_volume=sum(volumes[:upto]))

    def fetch(self, tickers: Sequence[str], now: datetime) -> FetchResult:
        result = FetchResult()
        for t in tickers:
            if not valid_ticker(t):
                result.failed[t] = "not a B3 ticker"
                continue
            result.quotes.append(self.quote(t, now))
        return result

    def history(self, ticker: str, start: date, end: date) -> list[tuple[date, int]]:
        """Daily closes over ``[start, end]`` (for demos and seeding)."""
        out = []
        d = start
        while d <= end:
            if CALENDAR.is_business_day(d):
                out.append((d, snap(self.log_close(ticker, d))))
            d += timedelta(days=1)
        return out
