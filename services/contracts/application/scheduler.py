"""Legal deadlines that run by themselves: transmission overdue (5 jours ouvrables after the
start) and the OPCO's 20 days (implicit rejection, or acceptance in the public sector); see
docs/domain.md, "Deadlines".

Each batch of due deadlines is read without holding them; each deadline is then raised in a unit
of work of its own that reads the contract and appends at the version it read, as a lifecycle
command does. The append's version check, not a lock on the deadline, makes every deadline event
raised exactly once with several schedulers running: the one that finds the stream moved leaves
it (the deadline fired, or no longer applies, or waits for the next tick). Holding the deadline
rows while appending would take the locks in the reverse of a command's order (a command holds
its stream, then rewrites the contract's deadlines with its read model): a command and a
scheduler on one contract could deadlock, and did under load
(tests/integration/test_deadlines.py)."""
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
            async with new_unit() as uow:
                state = await uow.contracts.load(contract_id)
                events = fire(state, kind, today)
                try:
                    if events:
                        await uow.contracts.record([(state, events)], ACTOR, last=True)
                        raised += len(events)
                    else:
                        await uow.contracts.save(state)  # no longer applies: drop it
                except StreamChanged:
                    log.info("scheduler.contract_changed", contract_id=contract_id)
                await uow.commit()
        if len(due) < batch:
            return raised
