"""The listing's opaque cursor: the (signature date, contract id) of the last contract served."""
from __future__ import annotations

import base64
from datetime import date

from shared.api.problems import Problem


def encode_cursor(signed_on: date, contract_id: str) -> str:
    return base64.urlsafe_b64encode(f"{signed_on.isoformat()}|{contract_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[date, str]:
    try:
        day, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return date.fromisoformat(day), cid
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.") from None
