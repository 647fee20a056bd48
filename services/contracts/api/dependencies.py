"""What the contracts routes depend on: a unit of work, and a way to wake the relay once a
command has committed (publish now, not at the next poll)."""
from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Request

from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.api.dependencies import units_of_work


async def _relay_waker(request: Request) -> Callable[[], None]:
    def wake() -> None:
        relay = getattr(request.app.state, "relay", None)   # absent until the relay has started
        if relay is not None:
            relay.wake()
    return wake


UnitOfWork, _ = units_of_work(SqlUnitOfWork)
WakeRelay = Annotated[Callable[[], None], Depends(_relay_waker)]
