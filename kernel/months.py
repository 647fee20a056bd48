"""Month arithmetic of the funding rules ("mois glissants", docs/financing.md, "The month rule").

Month k of a period starting on day D begins on the same day-of-month k calendar months later;
when that month has no such day, on the first day of the next month. This is deliberately not a
library's clamping month addition (2024-01-31 + 1 month is 2024-03-01 here, not 2024-02-29).
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

# add_months is pure and its arguments few: the dates of a few years of contracts and a handful
# of month counts (the funding years, the schedule's months). Bounded for a long-lived process.
MONTHS_CACHE_SIZE = 1 << 16


@lru_cache(maxsize=MONTHS_CACHE_SIZE)
def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months (n may be negative), overflowing to the 1st."""
    year, month = divmod(d.year * 12 + d.month - 1 + n, 12)
    month += 1
    day = d.day
    if day <= 28 or day <= _days_in_month(year, month):   # every month has a 28th: no look-up
        return date(year, month, day)
    return date(year + (month == 12), month % 12 + 1, 1)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    """``calendar.monthrange(year, month)[1]`` without its weekday."""
    return 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]


def months_started(start: date, end: date) -> int:
    """The smallest n >= 1 such that start + n months > end ("chaque mois débuté").

    Read off the calendar instead of searched: with m the months from ``start``'s month to
    ``end``'s, start + m months falls in ``end``'s month on ``start``'s day (so it is <= end when
    that day is <= end's) or, that month being too short, on the 1st of the next one (> end, and
    then start.day > end.day too); start + (m - 1) months is <= end and start + (m + 1) months
    > end. Hence m + 1 when start.day <= end.day, m otherwise (tests/unit/test_months.py holds it
    to the definition)."""
    if end < start:
        raise ValueError("end before start")
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + 1 if start.day <= end.day else months


def last_day_of_months(start: date, n: int) -> date:
    """The last day of the n-th month from ``start`` (start + n months - 1 day)."""
    return add_months(start, n) - timedelta(days=1)
