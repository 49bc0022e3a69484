"""B3 facts as plain Python: the business-day calendar and the cash-market session schedule.

No AWS, broker or database import here: wallet settlement, the matching engine and market data all use it.

- :mod:`mybroker.b3.calendar`: ``is_business_day``, ``add_business_days`` (T+2), ``holidays``.
- :mod:`mybroker.b3.session`: ``Phase``, ``phase_at``, ``next_change``, ``day_schedule``.
"""

from __future__ import annotations

from mybroker.b3.calendar import (
    B3Calendar,
    add_business_days,
    holidays,
    is_business_day,
    next_business_day,
    previous_business_day,
    settlement_date,
)
from mybroker.b3.session import SAO_PAULO, DaySchedule, Phase, Window, day_schedule, next_change, phase_at

__all__ = [
    "SAO_PAULO",
    "B3Calendar",
    "DaySchedule",
    "Phase",
    "Window",
    "add_business_days",
    "day_schedule",
    "holidays",
    "is_business_day",
    "next_business_day",
    "next_change",
    "phase_at",
    "previous_business_day",
    "settlement_date",
]
