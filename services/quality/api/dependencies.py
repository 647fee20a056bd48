"""What the quality routes depend on: a unit of work (a plain one for commands, a snapshot for
the board, read in several statements), the clock, the Idempotency-Key header; and how a
command runs once per key."""
from __future__ import annotations

from typing import Annotated, Any, Awaitable, Callable

from fastapi import Header, Request, Response
from pydantic import BaseModel

from services.quality.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.api.dependencies import CurrentClock, units_of_work  # noqa: F401 (routes import CurrentClock from here)
from shared.api.idempotency import Outcome, fingerprint, respond
from shared.auth import Principal


UnitOfWork, SnapshotUnitOfWork = units_of_work(SqlUnitOfWork)
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
