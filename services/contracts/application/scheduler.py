"""Legal deadlines that run by themselves: transmission overdue (5 jours ouvrables after the
start) and the OPCO's 20 days (implicit rejection, or acceptance in the public sector).

Each tick locks the due deadlines it takes (``FOR UPDATE SKIP LOCKED``) and appends at the
contract's loaded version, so every deadline event is raised exactly once, even with several
schedulers running."""
from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts.adapters.unit_of_work import ContractsUnitOfWork, due_deadlines
from services.contracts.domain.lifecycle import fire
from shared.eventstore.model import ConcurrencyConflict

log = structlog.get_logger("scheduler")
ACTOR = "scheduler"


async def tick(engine: AsyncEngine, today: date, batch: int = 200) -> int:
    """Raise every deadline event due before ``today``; returns how many were raised."""
    raised = 0
    while True:
        async with engine.begin() as conn:
            uow = ContractsUnitOfWork(conn)
            due = await due_deadlines(conn, today, batch)
            for contract_id, kind in due:
                state = await uow.load(contract_id)
                events = fire(state, kind, today)
                try:
                    if events:
                        await uow.record([(state, events)], ACTOR)
                        raised += len(events)
                    else:
                        await uow.save(state)  # no longer applies: drop it
                except ConcurrencyConflict:
                    log.info("scheduler.contract_changed", contract_id=contract_id)
        if len(due) < batch:
            return raised
