"""Clocks: the system's (French legal dates are Paris dates) and a fixed one for tests."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class SystemClock:
    def today(self) -> date:
        return datetime.now(PARIS).date()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """``today()`` is the date it was given; ``now()`` is noon (Paris) that day, moved only by
    ``advance`` (a test steps through retry delays without waiting for them)."""

    def __init__(self, today: date):
        self._today = today
        self._ahead = timedelta(0)

    def today(self) -> date:
        return self._today

    def set(self, today: date) -> None:
        self._today = today

    def now(self) -> datetime:
        return datetime.combine(self._today, time(12), PARIS) + self._ahead

    def advance(self, delta: timedelta) -> None:
        self._ahead += delta
