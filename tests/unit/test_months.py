from datetime import date

import pytest
from hypothesis import given, strategies as st

from kernel.months import add_months, last_day_of_months, months_started


@pytest.mark.parametrize("start,n,expected", [
    ("2024-09-28", 12, "2025-09-28"),
    ("2024-01-31", 1, "2024-03-01"),   # no 31 February: first day of the next month
    ("2024-02-29", 12, "2025-03-01"),  # leap day
    ("2024-02-29", 48, "2028-02-29"),
    ("2024-12-31", 2, "2025-03-01"),
    ("2024-10-14", -3, "2024-07-14"),
    ("2025-05-31", -3, "2025-03-01"),
    ("2024-05-31", -1, "2024-05-01"),
    ("2025-01-15", 6, "2025-07-15"),
])
def test_add_months(start, n, expected):
    assert add_months(date.fromisoformat(start), n) == date.fromisoformat(expected)


def test_going_back_to_a_missing_day_lands_on_the_first_of_the_next_month():
    # 2024-05-30 - 3 months: 30 February does not exist -> 1 March
    assert add_months(date(2024, 5, 30), -3) == date(2024, 3, 1)


@pytest.mark.parametrize("start,end,n", [
    ("2024-09-28", "2025-10-03", 13),  # E1: 12 months and 6 days
    ("2024-09-01", "2025-05-31", 9),
    ("2024-09-01", "2025-06-01", 10),
    ("2024-09-28", "2025-09-27", 12),
    ("2024-09-28", "2025-09-28", 13),
    ("2024-09-28", "2024-09-28", 1),
    ("2024-01-31", "2024-02-29", 1),
    ("2024-01-31", "2024-03-01", 2),
])
def test_months_started(start, end, n):
    assert months_started(date.fromisoformat(start), date.fromisoformat(end)) == n


def test_last_day_of_months():
    assert last_day_of_months(date(2024, 9, 28), 12) == date(2025, 9, 27)
    assert last_day_of_months(date(2024, 12, 20), 6) == date(2025, 6, 19)


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@given(dates, st.integers(min_value=0, max_value=600))
def test_months_started_is_the_smallest_n(start, days):
    from datetime import timedelta
    end = start + timedelta(days=days)
    n = months_started(start, end)
    assert n >= 1
    assert add_months(start, n) > end
    assert n == 1 or add_months(start, n - 1) <= end


@given(dates, st.integers(min_value=-48, max_value=48))
def test_add_months_keeps_the_day_or_overflows_to_the_first(d, n):
    r = add_months(d, n)
    assert r.day == d.day or (r.day == 1 and d.day > 28)


def _months_started_by_search(start, end):
    """The definition, searched: the smallest n >= 1 with start + n months > end."""
    n = 1
    while add_months(start, n) <= end:
        n += 1
    return n


@given(dates, st.integers(min_value=0, max_value=1500))
def test_months_started_is_the_definition_searched(start, days):
    from datetime import timedelta
    end = start + timedelta(days=days)
    assert months_started(start, end) == _months_started_by_search(start, end)


def test_months_started_on_every_pair_of_days_around_month_ends():
    from datetime import timedelta
    starts = [date(2023, 12, 25) + timedelta(days=i) for i in range(80)]   # Jan 31, Feb 28/29 (2024), ...
    for start in starts:
        for days in range(0, 800, 1):
            end = start + timedelta(days=days)
            assert months_started(start, end) == _months_started_by_search(start, end), (start, end)


def test_months_started_refuses_an_end_before_the_start():
    with pytest.raises(ValueError):
        months_started(date(2024, 1, 2), date(2024, 1, 1))
