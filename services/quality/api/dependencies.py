"""What the quality routes depend on: a unit of work (a plain one for commands, a snapshot for
the board, read in several statements), the clock, the Idempotency-Key header; and how a
command runs once per key."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Awaitable, Callable, Protocol

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from services.quality.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.api.idempotency import Outcome, fingerprint, respond
from shared.auth import Principal


class Clock(Protocol):
    def today(self) -> date: ...


def _unit_of_work(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.engine)


def _snapshot(request: Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app.state.engine, snapshot=True)


def _clock(request: Request) -> Clock:
    """The app's clock (a fixed one in tests): dates of what already happened may not pass its today."""
    return request.app.state.clock


UnitOfWork = Annotated[SqlUnitOfWork, Depends(_unit_of_work)]
SnapshotUnitOfWork = Annotated[SqlUnitOfWork, Depends(_snapshot)]
CurrentClock = Annotated[Clock, Depends(_clock)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def example(value: Any) -> dict:
    """An OpenAPI answer's content with this example."""
    return {"content": {"application/json": {"example": value}}}


async def idempotent(request: Request, uow: SqlUnitOfWork, principal: Principal, idempotency_key: str | None,
                     payload: BaseModel, action: Callable[[], Awaitable[Outcome]]) -> Response:
    """Runs a command once per Idempotency-Key (a retry replays the first answer), the key claimed
    in the command's transaction."""
    digest = fingerprint(request.method, request.url.path, payload.model_dump(mode="json"))
    async with uow:
        outcome = await uow.idempotency.once(principal.key_id, idempotency_key, digest, action)
        await uow.commit()
    return respond(outcome)
