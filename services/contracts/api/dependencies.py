"""What the contracts routes depend on: a unit of work, and a way to wake the relay once a
command has committed (publish now, not at the next poll)."""
from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Request

from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork


def _unit_of_work(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.engine)


def _relay_waker(request: Request) -> Callable[[], None]:
    def wake() -> None:
        relay = getattr(request.app.state, "relay", None)   # absent until the relay has started
        if relay is not None:
            relay.wake()
    return wake


UnitOfWork = Annotated[SqlUnitOfWork, Depends(_unit_of_work)]
WakeRelay = Annotated[Callable[[], None], Depends(_relay_waker)]
