"""Absences from the CFA's ERP (docs/quality.md, *Absences*): idempotent by the ERP's record id,
each new one an ``absence.recorded`` event."""
from __future__ import annotations

from datetime import date
from typing import Any

from services.quality.application.authorization import cfa_of
from services.quality.application.recording import not_in_future
from services.quality.application.unit_of_work import Absence, QualityUnitOfWork, StreamEvent
from services.quality.domain import records as r
from kernel.access import Principal


async def record_absences(uow: QualityUnitOfWork, principal: Principal, body: r.Absence | r.AbsenceBatch,
                          today: date) -> dict[str, int]:
    """Counts of the absences recorded, already known, and repeated in the request. A record
    already known is neither re-recorded nor changed; a batch with an absence dated after today
    is refused whole."""
    cfa = cfa_of(principal)
    not_in_future(body, today)
    batch = body.absences if isinstance(body, r.AbsenceBatch) else [body]
    unique = {a.erp_record_id: a for a in batch}
    async with uow:
        new = await uow.absences.add_new(cfa, [Absence(a.erp_record_id, a.apprentice_id, a.group, a.day, a.hours,
                                                       a.justified) for a in unique.values()])
        if new:
            await uow.events.append(cfa, principal.key_id, [StreamEvent(
                f"absence-{cfa}-{erp}", 0, "absence.recorded",
                {"cfa": cfa, **unique[erp].model_dump(mode="json", exclude_none=True)}) for erp in new])
        await uow.commit()
    return {"recorded": len(new), "already_recorded": len(unique) - len(new),
            "duplicates_in_request": len(batch) - len(unique)}


async def list_absences(uow: QualityUnitOfWork, principal: Principal, apprentice_id: str | None,
                        start: date | None, end: date | None, limit: int) -> dict[str, Any]:
    cfa = cfa_of(principal)
    async with uow:
        rows = await uow.absences.listed(cfa, apprentice_id, start, end, limit)
    return {"items": [{"erp_record_id": x.erp_record_id, "apprentice_id": x.apprentice_id, "group": x.group,
                       "day": x.day.isoformat(), "hours": f"{x.hours:.2f}", "justified": x.justified} for x in rows]}
