"""/v1/quality/...: record evidence, follow it, list it.

(No ``from __future__ import annotations``: endpoints are built in loops and FastAPI must see
their body types as classes.)"""
import base64
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy import select, tuple_

from services.quality.adapters.tables import SCHEMA, absences, records
from services.quality.application import recording
from services.quality.domain import records as r
from shared.api.idempotency import fingerprint, once, respond
from shared.api.problems import Problem, not_found
from shared.auth import CfaPrincipal, Principal, require_role
from shared.types import IsoDate

router = APIRouter(tags=["quality"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
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


def _example(value) -> dict:
    return {"content": {"application/json": {"example": value}}}


async def _write(request: Request, principal: Principal, idem_key: str | None, payload: BaseModel, action):
    digest = fingerprint(request.method, request.url.path, payload.model_dump(mode="json"))
    async with request.app.state.engine.begin() as conn:
        outcome = await once(conn, SCHEMA, principal.key_id, idem_key, digest, lambda: action(conn))
    return respond(outcome)


def _today(request: Request) -> date:
    """Today, by the app's clock (a fixed one in tests): dates of what already happened may not pass it."""
    return request.app.state.clock.today()


def _cursor(value: str | None) -> tuple[date, str] | None:
    if not value:
        return None
    try:
        day, rid = base64.urlsafe_b64decode(value.encode()).decode().split("|", 1)
        return date.fromisoformat(day), rid
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.") from None


def _collection(collection: str, kind: recording.Kind):
    model = kind.model

    async def create(body: Annotated[model, Body(openapi_examples={"example": {"value": EXAMPLES[collection]}})],
                     request: Request, principal: CfaPrincipal, idempotency_key: IdempotencyKey = None):
        return await _write(request, principal, idempotency_key, body,
                            lambda conn: recording.create(conn, principal, collection, body, _today(request)))

    async def listing(request: Request, principal: CfaPrincipal, status: str | None = None,
                      from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                      cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100):
        require_role(principal, "cfa")
        c = records.c
        q = select(records).where(c.cfa == principal.org, c.kind == kind.name)
        if status:
            q = q.where(c.status == status)
        if from_:
            q = q.where(c.occurred_on >= from_)
        if to:
            q = q.where(c.occurred_on <= to)
        after = _cursor(cursor)
        if after:
            q = q.where(tuple_(c.occurred_on, c.record_id) > tuple_(*after))
        async with request.app.state.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(c.occurred_on, c.record_id).limit(limit + 1))).all()
        nxt = None
        if len(rows) > limit:
            last = rows[limit - 1]
            nxt = base64.urlsafe_b64encode(f"{last.occurred_on.isoformat()}|{last.record_id}".encode()).decode()
        return {"items": [recording.record_body(x) for x in rows[:limit]], "next_cursor": nxt}

    async def one(record_id: str, request: Request, principal: CfaPrincipal):
        require_role(principal, "cfa")
        async with request.app.state.engine.connect() as conn:
            row = (await conn.execute(select(records).where(records.c.record_id == record_id,
                                                            records.c.kind == kind.name,
                                                            records.c.cfa == principal.org))).first()
        if row is None:
            raise not_found(kind.name)
        return recording.record_body(row)

    for fn, name in ((create, "create"), (listing, "list"), (one, "get")):
        fn.__name__ = f"{name}_{collection}"
    example = {**EXAMPLES[collection], "id": "4f1c...", "record_type": kind.name, "status": kind.status, "version": 1}
    router.post(f"/v1/quality/{collection}", status_code=201, summary=f"Record {kind.name} (CFA key)",
                responses={201: _example(example)})(create)
    router.get(f"/v1/quality/{collection}", summary=f"List {collection} (CFA key)",
               responses={200: _example({"items": [example], "next_cursor": None})})(listing)
    router.get(f"/v1/quality/{collection}/{{record_id}}", summary=f"One {kind.name} (CFA key)",
               responses={200: _example(example)})(one)


def _step(collection: str, path: str, step_name: str, model: type[BaseModel]):
    async def post(record_id: str,
                   body: Annotated[model, Body(openapi_examples={"example": {"value": STEP_EXAMPLES[(collection, path)]}})],
                   request: Request, principal: CfaPrincipal, idempotency_key: IdempotencyKey = None):
        name = body.step if step_name == "steps" else step_name
        return await _write(request, principal, idempotency_key, body,
                            lambda conn: recording.step(conn, principal, collection, name, record_id, body,
                                                        _today(request)))
    post.__name__ = f"{collection}_{path}"
    router.post(f"/v1/quality/{collection}/{{record_id}}/{path}", summary=f"{collection}: {path} (CFA key)",
                responses={200: _example({"id": "4f1c...", "status": "acknowledged", "version": 2})})(post)


for _name, _kind in recording.KINDS.items():
    _collection(_name, _kind)
_step("complaints", "steps", "steps", r.ComplaintStep)
_step("incidents", "report", "report", r.IncidentReport)
_step("measures", "updates", "update", r.MeasureUpdate)
_step("councils", "minutes", "minutes", r.CouncilMinutes)

ABSENCE = {"erp_record_id": "erp-7781", "apprentice_id": "app-1", "group": "BTS-MCO-1", "day": "2025-01-13",
           "hours": "3.5", "justified": False}


@router.post("/v1/quality/absences", status_code=201, summary="Record an absence (idempotent by ERP record id)",
             responses={201: _example({"recorded": 1, "already_recorded": 0, "duplicates_in_request": 0})})
async def post_absence(body: Annotated[r.Absence, Body(openapi_examples={"example": {"value": ABSENCE}})],
                       request: Request, principal: CfaPrincipal, idempotency_key: IdempotencyKey = None):
    return await _write(request, principal, idempotency_key, body,
                        lambda conn: recording.record_absences(conn, principal, body, _today(request)))


@router.post("/v1/quality/absences/bulk", status_code=201, summary="Record absences in bulk (idempotent by ERP record id)",
             responses={201: _example({"recorded": 2, "already_recorded": 1, "duplicates_in_request": 0})})
async def post_absences(body: Annotated[r.AbsenceBatch, Body(openapi_examples={"example": {"value": {
                            "absences": [ABSENCE, {**ABSENCE, "erp_record_id": "erp-7782", "day": "2025-01-14"}]}}})],
                        request: Request, principal: CfaPrincipal, idempotency_key: IdempotencyKey = None):
    return await _write(request, principal, idempotency_key, body,
                        lambda conn: recording.record_absences(conn, principal, body, _today(request)))


@router.get("/v1/quality/absences", summary="Absences (CFA key)",
            responses={200: _example({"items": [ABSENCE]})})
async def list_absences(request: Request, principal: CfaPrincipal, apprentice_id: str | None = None,
                        from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                        limit: Annotated[int, Query(ge=1, le=10000)] = 1000):
    require_role(principal, "cfa")
    c = absences.c
    q = select(absences).where(c.cfa == principal.org)
    if apprentice_id:
        q = q.where(c.apprentice_id == apprentice_id)
    if from_:
        q = q.where(c.day >= from_)
    if to:
        q = q.where(c.day <= to)
    async with request.app.state.engine.connect() as conn:
        rows = await conn.execute(q.order_by(c.day, c.erp_record_id).limit(limit))
    return {"items": [{"erp_record_id": x.erp_record_id, "apprentice_id": x.apprentice_id, "group": x.grp,
                       "day": x.day.isoformat(), "hours": f"{x.hours:.2f}", "justified": x.justified} for x in rows]}
