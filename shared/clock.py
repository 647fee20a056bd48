"""Clocks: the system's (French legal dates are Paris dates) and a fixed one for tests."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class SystemClock:
    def today(self) -> date:
        return datetime.now(PARIS).date()


class FixedClock:
    def __init__(self, today: date):
        self._today = today

    def today(self) -> date:
        return self._today

    def set(self, today: date) -> None:
        self._today = today
