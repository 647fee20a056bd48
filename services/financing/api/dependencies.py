"""What the financing routes depend on: a unit of work (a plain one for commands, a snapshot for
answers read in several statements), the clock, an ops key."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from kernel.access import require_role
from shared.api.dependencies import CurrentClock, units_of_work  # noqa: F401 (routes import CurrentClock from here)
from shared.auth import CurrentPrincipal, Principal


async def _ops(principal: CurrentPrincipal) -> Principal:
    """Checked before the body is read (a CFA key gets 403 whatever it sends)."""
    require_role(principal, "ops")
    return principal


UnitOfWork, SnapshotUnitOfWork = units_of_work(SqlUnitOfWork)
OpsPrincipal = Annotated[Principal, Depends(_ops)]


def example(value) -> dict:
    """An OpenAPI 200 response with this example."""
    return {200: {"content": {"application/json": {"example": value}}}}
