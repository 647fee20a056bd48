"""What the contracts routes depend on: a unit of work, and a way to wake the relay once a
command has committed (publish now, not at the next poll)."""
from __future__ import annotations

from fastapi import Request

from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.api.dependencies import units_of_work


def wake_relay(request: Request) -> None:
    """Wake the app's relay (absent until it has started). A plain call, not a dependency: a
    route that commits calls it after the commit, and a dependency costs every request FastAPI's
    solving (~20 us of the sign's CPU)."""
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.wake()


UnitOfWork, _ = units_of_work(SqlUnitOfWork)
