"""The B3 business-day calendar: weekends, Brazilian national holidays and B3's own closures.

Closed every year: New Year (Jan 1), Carnival Monday and Tuesday (Easter - 48/-47), Good Friday (Easter - 2),
Tiradentes (Apr 21), Labour Day (May 1), Corpus Christi (Easter + 60), Independence (Sep 7), Our Lady
Aparecida (Oct 12), All Souls (Nov 2), Republic (Nov 15), Christmas Eve and Christmas (Dec 24/25) and New
Year's Eve (Dec 31). Black Consciousness Day (Nov 20) is a national holiday from 2024 (Law 14,759/2023);
earlier years count it as a business day (B3 traded on São Paulo's municipal holidays from 2022).

Ad-hoc closures B3 announces (e.g. a World Cup match) go in ``B3Calendar(extra_closures=...)``.

Usage::

    from mybroker.b3.calendar import add_business_days, is_business_day
    settles = add_business_days(trade_date, 2)   # T+2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

BLACK_CONSCIOUSNESS_FROM = 2024


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def _national(year: int) -> Mapping[date, str]:
    e = easter(year)
    days: dict[date, str] = {
        date(year, 1, 1): "Confraternização Universal",
        e - timedelta(days=48): "Carnaval (segunda-feira)",
        e - timedelta(days=47): "Carnaval (terça-feira)",
        e - timedelta(days=2): "Sexta-feira Santa",
        date(year, 4, 21): "Tiradentes",
        date(year, 5, 1): "Dia do Trabalho",
        e + timedelta(days=60): "Corpus Christi",
        date(year, 9, 7): "Independência do Brasil",
        date(year, 10, 12): "Nossa Senhora Aparecida",
        date(year, 11, 2): "Finados",
        date(year, 11, 15): "Proclamação da República",
        date(year, 12, 24): "Véspera de Natal (sem pregão)",
        date(year, 12, 25): "Natal",
        date(year, 12, 31): "Véspera de Ano Novo (sem pregão)",
    }
    if year >= BLACK_CONSCIOUSNESS_FROM:
        days[date(year, 11, 20)] = "Dia Nacional de Zumbi e da Consciência Negra"
    return days


def ash_wednesday(year: int) -> date:
    """The day after Carnival: B3 trades, but opens late (see :mod:`mybroker.b3.session`)."""
    return easter(year) - timedelta(days=46)


@dataclass(frozen=True)
class B3Calendar:
    """A B3 calendar; the module-level functions use the default instance (no extra closures)."""

    extra_closures: frozenset[date] = field(default_factory=frozenset)

    def holidays(self, year: int) -> dict[date, str]:
        """Weekday and weekend closures of ``year`` with their names, sorted by date."""
        out = dict(_national(year))
        out.update({d: "Fechamento extraordinário" for d in self.extra_closures if d.year == year})
        return dict(sorted(out.items()))

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in _national(d.year) and d not in self.extra_closures

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d`` (before it when ``n`` < 0); ``d`` itself is not counted, and
        need not be a business day. ``n == 0`` returns ``d`` unchanged. T+2 settlement is ``n=2``."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            d += timedelta(days=step)
            if self.is_business_day(d):
                remaining -= 1
        return d

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after ``d``."""
        return self.add_business_days(d, 1)

    def previous_business_day(self, d: date) -> date:
        """The last business day strictly before ``d``."""
        return self.add_business_days(d, -1)

    def business_days(self, start: date, end: date) -> Iterable[date]:
        """Business days in ``[start, end]``."""
        d = start
        while d <= end:
            if self.is_business_day(d):
                yield d
            d += timedelta(days=1)


DEFAULT = B3Calendar()


def is_business_day(d: date) -> bool:
    """True when B3's cash market trades on ``d``."""
    return DEFAULT.is_business_day(d)


def add_business_days(d: date, n: int) -> date:
    """The ``n``-th B3 business day after ``d`` (``n`` < 0: before); ``d`` is not counted."""
    return DEFAULT.add_business_days(d, n)


def next_business_day(d: date) -> date:
    return DEFAULT.next_business_day(d)


def previous_business_day(d: date) -> date:
    return DEFAULT.previous_business_day(d)


def settlement_date(trade_date: date, cycle: int = 2) -> date:
    """When a cash-equities trade on ``trade_date`` settles: T+``cycle`` business days (T+2 today)."""
    return DEFAULT.add_business_days(trade_date, cycle)


def holidays(year: int) -> dict[date, str]:
    """B3 closures of ``year`` that fall on any day of the week, with their names."""
    return DEFAULT.holidays(year)
