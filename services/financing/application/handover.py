"""Which OPCO is responsible for an apprentice, from when to when: the path's spans, folded from
its events (those recorded up to ``as_of`` when given)."""
from __future__ import annotations

from datetime import datetime

from kernel.errors import NotFound
from services.financing.application.authorization import sees
from services.financing.application.funding_paths import instant, path_facts
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.spans import handover as handover_of
from kernel.access import Principal


async def handover(uow: FinancingUnitOfWork, principal: Principal, apprentice_id: str,
                   as_of: datetime | None) -> dict:
    as_of = instant(as_of)
    async with uow:
        facts, spans = await path_facts(uow.reads, [apprentice_id], as_of)
    if not facts or not any(sees(principal, f) for f in facts.values()):
        raise NotFound("apprentice")
    return {"apprentice_id": apprentice_id,
            "handover": handover_of([s for s in spans if s.apprentice_id == apprentice_id])}
