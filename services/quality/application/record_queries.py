"""Reading records back (docs/quality.md, *Records*): one, or a page of a collection after a
cursor (the last record's date and id, base64)."""
from __future__ import annotations

import base64
from datetime import date
from typing import Any

from kernel.errors import NotFound, Refused
from services.quality.application.authorization import cfa_of
from services.quality.application.recording import KINDS, record_body
from services.quality.application.unit_of_work import QualityUnitOfWork
from kernel.access import Principal


def _cursor(value: str | None) -> tuple[date, str] | None:
    if not value:
        return None
    try:
        day, rid = base64.urlsafe_b64decode(value.encode()).decode().split("|", 1)
        return date.fromisoformat(day), rid
    except (ValueError, UnicodeDecodeError):
        raise Refused("invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.") from None


async def list_records(uow: QualityUnitOfWork, principal: Principal, collection: str, status: str | None,
                       start: date | None, end: date | None, cursor: str | None, limit: int) -> dict[str, Any]:
    cfa, kind = cfa_of(principal), KINDS[collection]
    after = _cursor(cursor)
    async with uow:
        rows = await uow.records.page(cfa, kind.name, status, start, end, after, limit + 1)
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = base64.urlsafe_b64encode(f"{last.occurred_on.isoformat()}|{last.record_id}".encode()).decode()
    return {"items": [record_body(x) for x in rows[:limit]], "next_cursor": nxt}


async def get_record(uow: QualityUnitOfWork, principal: Principal, collection: str, record_id: str) -> dict[str, Any]:
    """Another CFA's record is not found either."""
    cfa, kind = cfa_of(principal), KINDS[collection]
    async with uow:
        row = await uow.records.get(cfa, kind.name, record_id)
    if row is None:
        raise NotFound(kind.name)
    return record_body(row)
