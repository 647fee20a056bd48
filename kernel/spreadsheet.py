"""CSV cells a spreadsheet opens as text (OWASP "CSV injection"): a value starting like a formula
is prefixed with a quote. Pure."""
from __future__ import annotations


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (``-`` is kept: amounts are negative)."""
    return "'" + value if value[:1] in ("=", "+", "@", "\t", "\r") else value
