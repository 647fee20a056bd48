"""Which funding regime applies: R2019 for contracts concluded before 1 July 2025, R2025 from
then on (décrets n° 2025-585 and 2025-586)."""
from __future__ import annotations

from datetime import date

R2025_FROM = date(2025, 7, 1)


def regime_of(signed_on: date) -> str:
    return "R2025" if signed_on >= R2025_FROM else "R2019"
