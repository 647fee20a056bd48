"""/v1/quality/<collection>: record evidence, follow it, list it (docs/quality.md, *Records*).

(No ``from __future__ import annotations``: endpoints are built in loops and FastAPI must see
their body types as classes.)"""
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel

from services.quality.api.dependencies import CurrentClock, UnitOfWork, example
from services.quality.application import recording
from services.quality.application.record_queries import get_record, list_records
from services.quality.domain import records as r
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.auth import CfaPrincipal
from shared.types import IsoDate

router = APIRouter(tags=["quality"])
EXAMPLES: dict[str, dict[str, Any]] = {
    "appraisals": {"stakeholder": "financer", "financer": "ATLAS", "kind": "survey", "score": "4", "scale_max": "5",
                   "campaign": "2025 financers", "recorded_on": "2025-06-10"},
    "complaints": {"received_on": "2025-03-02", "from": "apprentice", "channel": "email", "subject": "Planning",
                   "description": "The timetable changed without notice."},
    "hazards": {"occurred_on": "2025-02-11", "kind": "hazard", "description": "Trainer absent for two weeks",
                "remedy": "Replacement trainer", "recorded_by": "Quality lead"},
    "incidents": {"occurred_on": "2025-04-03", "kind": "harassment", "apprentice_id": "app-1",
                  "description": "Repeated insults by a colleague at the workplace", "reported_by": "Referent"},
    "measures": {"origin": "complaint", "title": "Publish timetable changes a week ahead", "owner": "Head of studies",
                 "due_on": "2025-05-31", "opened_on": "2025-03-05"},
    "councils": {"planned_on": "2025-06-20", "period_from": "2024-09-01", "period_to": "2025-06-15"},
}
STEP_EXAMPLES = {
    ("complaints", "steps"): {"step": "acknowledged", "on": "2025-03-03", "by": "Quality lead"},
    ("incidents", "report"): {"reported_on": "2025-04-03", "to": "Procureur de la République", "reference": "PV-1"},
    ("measures", "updates"): {"status": "done", "on": "2025-05-30", "effectiveness_review": "No complaint since."},
    ("councils", "minutes"): {"held_on": "2025-06-20", "attendees": ["Director", "Employer representative"],
                              "decisions": ["Open a second tutoring slot"], "minutes": "The council reviewed ..."},
}


def _collection(collection: str, kind: recording.Kind):
    model = kind.model

    async def create(body: Annotated[model, Body(openapi_examples={"example": {"value": EXAMPLES[collection]}})],
                     request: Request, principal: CfaPrincipal, uow: UnitOfWork, clock: CurrentClock,
                     idempotency_key: IdempotencyKey = None):
        async def created() -> Outcome:
            done = await recording.create_record(uow, principal, collection, body, clock.today())
            return Outcome(201, done, {"Location": f"/v1/quality/{collection}/{done['id']}"})
        return respond(await run_once(request, uow, principal, idempotency_key, body, created))

    async def listing(principal: CfaPrincipal, uow: UnitOfWork, status: str | None = None,
                      from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                      cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100):
        return await list_records(uow, principal, collection, status, from_, to, cursor, limit)

    async def one(record_id: str, principal: CfaPrincipal, uow: UnitOfWork):
        return await get_record(uow, principal, collection, record_id)

    for fn, name in ((create, "create"), (listing, "list"), (one, "get")):
        fn.__name__ = f"{name}_{collection}"
    answer = {**EXAMPLES[collection], "id": "4f1c...", "record_type": kind.name, "status": kind.status, "version": 1}
    router.post(f"/v1/quality/{collection}", status_code=201, summary=f"Record {kind.name} (CFA key)",
                responses={201: example(answer)})(create)
    router.get(f"/v1/quality/{collection}", summary=f"List {collection} (CFA key)",
               responses={200: example({"items": [answer], "next_cursor": None})})(listing)
    router.get(f"/v1/quality/{collection}/{{record_id}}", summary=f"One {kind.name} (CFA key)",
               responses={200: example(answer)})(one)


def _step(collection: str, path: str, step_name: str, model: type[BaseModel]):
    async def post(record_id: str,
                   body: Annotated[model, Body(openapi_examples={"example": {"value": STEP_EXAMPLES[(collection, path)]}})],
                   request: Request, principal: CfaPrincipal, uow: UnitOfWork, clock: CurrentClock,
                   idempotency_key: IdempotencyKey = None):
        name = body.step if step_name == "steps" else step_name

        async def stepped() -> Outcome:
            done = await recording.take_step(uow, principal, collection, name, record_id, body, clock.today())
            return Outcome(200, done, {"ETag": f'"{done["version"]}"'})
        return respond(await run_once(request, uow, principal, idempotency_key, body, stepped))
    post.__name__ = f"{collection}_{path}"
    router.post(f"/v1/quality/{collection}/{{record_id}}/{path}", summary=f"{collection}: {path} (CFA key)",
                responses={200: example({"id": "4f1c...", "status": "acknowledged", "version": 2})})(post)


for _name, _kind in recording.KINDS.items():
    _collection(_name, _kind)
_step("complaints", "steps", "steps", r.ComplaintStep)
_step("incidents", "report", "report", r.IncidentReport)
_step("measures", "updates", "update", r.MeasureUpdate)
_step("councils", "minutes", "minutes", r.CouncilMinutes)
