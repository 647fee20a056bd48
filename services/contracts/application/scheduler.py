"""Legal deadlines that run by themselves: transmission overdue (5 jours ouvrables after the
start) and the OPCO's 20 days (implicit rejection, or acceptance in the public sector); see
docs/domain.md, "Deadlines".

Each batch, in a unit of work of its own, takes the due deadlines locked for it (others skip
them) and appends at the contract's loaded version, so every deadline event is raised exactly
once, even with several schedulers running."""
from __future__ import annotations

from datetime import date
from typing import Callable

import structlog

from services.contracts.application.unit_of_work import ContractsUnitOfWork, StreamChanged
from services.contracts.domain.deadlines import fire

log = structlog.get_logger("scheduler")
ACTOR = "scheduler"


async def raise_due_deadlines(new_unit: Callable[[], ContractsUnitOfWork], today: date, batch: int = 200) -> int:
    """Raise every deadline event due before ``today``; returns how many were raised."""
    raised = 0
    while True:
        async with new_unit() as uow:
            due = await uow.deadlines.due(today, batch)
            for contract_id, kind in due:
                state = await uow.contracts.load(contract_id)
                events = fire(state, kind, today)
                try:
                    if events:
                        await uow.contracts.record([(state, events)], ACTOR)
                        raised += len(events)
                    else:
                        await uow.contracts.save(state)  # no longer applies: drop it
                except StreamChanged:
                    log.info("scheduler.contract_changed", contract_id=contract_id)
            await uow.commit()
        if len(due) < batch:
            return raised
