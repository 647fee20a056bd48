"""What the financing routes depend on: a unit of work (a plain one for commands, a snapshot for
answers read in several statements), the clock, an ops key."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Protocol

from fastapi import Depends, Request

from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from kernel.access import require_role
from shared.auth import CurrentPrincipal, Principal


class Clock(Protocol):
    def today(self) -> date: ...


def _unit_of_work(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.engine)


def _snapshot(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.engine, snapshot=True)


def _clock(request: Request) -> Clock:
    return request.app.state.clock


async def _ops(principal: CurrentPrincipal) -> Principal:
    """Checked before the body is read (a CFA key gets 403 whatever it sends)."""
    require_role(principal, "ops")
    return principal


UnitOfWork = Annotated[SqlUnitOfWork, Depends(_unit_of_work)]
SnapshotUnitOfWork = Annotated[SqlUnitOfWork, Depends(_snapshot)]
CurrentClock = Annotated[Clock, Depends(_clock)]
OpsPrincipal = Annotated[Principal, Depends(_ops)]


def example(value) -> dict:
    """An OpenAPI 200 response with this example."""
    return {200: {"content": {"application/json": {"example": value}}}}
