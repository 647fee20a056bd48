"""``GET /v1/events``: a service's whole log in commit order (ops keys), as CloudEvents.

``after`` is the ``position`` of the last event the reader saw (0 to start): the feed resumes
just after it in commit order, so a reader never misses an event committed late."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shared.api.problems import Problem
from shared.auth import CurrentPrincipal, require_role
from shared.envelope import Publishable, as_stored, to_cloudevent
from shared.eventstore.store import EventStore


def feed_router(store: EventStore, source: str, publishable: Publishable = as_stored) -> APIRouter:
    router = APIRouter(tags=["feed"])

    example = {"events": [{"specversion": "1.0", "id": "8f1b...", "source": source, "type": "contract.signed",
                           "subject": "6c1f0a56-...", "sequence": "1", "position": 42, "data": {}}],
               "last_position": 42, "next": "/v1/events?after=42&limit=500"}

    @router.get("/v1/events", summary="The whole log in commit order (ops)",
                responses={200: {"content": {"application/json": {"example": example}}}})
    async def events(request: Request, principal: CurrentPrincipal,
                     after: Annotated[int, Query(ge=0, le=2**63 - 1, description="position of the last event seen")] = 0,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 500):
        require_role(principal, "ops")
        async with request.app.state.engine.connect() as conn:
            cursor = await store.cursor_at(conn, after)
            if cursor is None:
                raise Problem(422, "unknown-position", "Unknown position",
                              f"No event has position {after}: pass a position this feed returned.")
            batch = await store.read_all(conn, cursor, limit)
        items = [to_cloudevent(e, source, with_position=True, publishable=publishable) for e in batch]
        last = batch[-1].global_position if batch else after
        return {"events": items, "last_position": last,
                "next": f"/v1/events?after={last}&limit={limit}"}

    return router
