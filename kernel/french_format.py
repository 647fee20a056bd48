"""How printed pages write dates and amounts the French way (the CERFA, the invoice). Pure."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any


def french_date(value: Any) -> str:
    """``31/10/2025``; empty stays empty; what is not a date is shown as given."""
    if value in (None, ""):
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return day.strftime("%d/%m/%Y")


def euros(value: Any) -> str:
    """``759,78 €``; ``1 234,56 €`` (a narrow no-break space between thousands, a no-break space
    before the sign); ``-2 800,00 €``; empty stays empty."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"
