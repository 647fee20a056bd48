"""Calendar rules: jours ouvrables (every day but Sunday and French public holidays), ages."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year).keys())


def is_working_day(d: date) -> bool:
    """Jour ouvrable: not a Sunday and not a French public holiday."""
    return d.weekday() != 6 and d not in _french_holidays(d.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th jour ouvrable after ``start`` (``start`` itself not counted)."""
    d, left = start, n
    while left:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d


def age_on(birth: date, on: date) -> int:
    """Full years of age on ``on`` (someone born on 29 February comes of age on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def first_of_month_after_birthday(birth: date, age: int) -> date:
    """When a rate tied to reaching ``age`` applies: the first day of the month after the birthday."""
    year = birth.year + age
    if (birth.month, birth.day) == (2, 29) and not _leap(year):
        return date(year, 4, 1)  # the birthday is 1 March in a common year
    return date(year + (birth.month == 12), birth.month % 12 + 1, 1)


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
