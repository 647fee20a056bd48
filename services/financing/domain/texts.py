"""The texts the answers show, each computed once: a computation shows a few thousand distinct
dates over its many thousands of lines, spans and advances (``date.isoformat`` was among the
most called functions of the simulation's profile)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

ISO_CACHE_SIZE = 1 << 16           # every day of 180 years; emptied when full (a long-lived process)


class _IsoTexts(dict):
    """``iso_text[d] == d.isoformat()``: a dictionary's look-up (in C) once the date was seen."""

    def __missing__(self, d: date) -> str:
        if len(self) >= ISO_CACHE_SIZE:
            self.clear()
        text = self[d] = d.isoformat()
        return text


iso_text = _IsoTexts()


def money_text(amount: Decimal) -> str:
    """``f"{amount:.2f}"``, at a third of its cost for an amount in cents (every amount the
    computation makes): a Decimal's own text is the same when it shows exactly two decimals (its
    exponent is then -2: scientific notation ends with an exponent, never with ".dd")."""
    text = str(amount)
    return text if text[-3:-2] == "." else f"{amount:.2f}"
