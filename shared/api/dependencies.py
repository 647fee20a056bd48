"""What every service's routes depend on: its unit of work (a plain one for commands, a snapshot
for answers read in several statements) and the app's clock (a fixed one in tests). They are
``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop per call."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request


class Clock(Protocol):
    def today(self) -> date: ...


async def _clock(request: Request) -> Clock:
    return request.app.state.clock


CurrentClock = Annotated[Clock, Depends(_clock)]


def units_of_work(unit: type) -> tuple[Any, Any]:
    """The ``Annotated`` dependencies giving a route ``unit(engine)`` and ``unit(engine,
    snapshot=True)`` over the app's engine."""
    async def plain(request: Request):
        return unit(request.app.state.engine)

    async def snapshot(request: Request):
        return unit(request.app.state.engine, snapshot=True)

    return Annotated[unit, Depends(plain)], Annotated[unit, Depends(snapshot)]
