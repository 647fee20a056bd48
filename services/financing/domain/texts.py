"""The texts the answers show, each computed once: a computation shows a few thousand distinct
dates over its many thousands of lines, spans and advances (``date.isoformat`` was among the
most called functions of the simulation's profile)."""
from __future__ import annotations

from datetime import date

ISO_CACHE_SIZE = 1 << 16           # every day of 180 years; emptied when full (a long-lived process)


class _IsoTexts(dict):
    """``iso_text[d] == d.isoformat()``: a dictionary's look-up (in C) once the date was seen."""

    def __missing__(self, d: date) -> str:
        if len(self) >= ISO_CACHE_SIZE:
            self.clear()
        text = self[d] = d.isoformat()
        return text


iso_text = _IsoTexts()
