"""Recording quality evidence (docs/quality.md, *Records*): each command appends its event to the
record's stream and updates the record, in one unit of work."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from pydantic import BaseModel

from kernel.errors import Conflict, NotFound, Refused
from services.quality.application.authorization import cfa_of
from services.quality.application.unit_of_work import QualityRecord, QualityUnitOfWork, StreamChanged, StreamEvent
from services.quality.domain import records as r
from kernel.access import Principal


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[BaseModel]
    event: str
    date_field: str
    status: str


KINDS = {
    "appraisals": Kind("appraisal", r.Appraisal, "appraisal.recorded", "recorded_on", "recorded"),
    "complaints": Kind("complaint", r.Complaint, "complaint.received", "received_on", "received"),
    "hazards": Kind("hazard", r.Hazard, "hazard.recorded", "occurred_on", "recorded"),
    "incidents": Kind("incident", r.Incident, "incident.reported", "occurred_on", "to_signal"),
    "measures": Kind("measure", r.Measure, "measure.opened", "opened_on", "open"),
    "councils": Kind("council", r.Council, "council.planned", "planned_on", "planned"),
}
# (collection, step) -> (the record's allowed statuses, the event, the status after, the body's date)
STEPS = {
    ("complaints", "acknowledged"): ({"received"}, "complaint.acknowledged", "acknowledged", "on"),
    ("complaints", "answered"): ({"received", "acknowledged"}, "complaint.answered", "answered", "on"),
    ("complaints", "closed"): ({"received", "acknowledged", "answered"}, "complaint.closed", "closed", "on"),
    ("incidents", "report"): ({"to_signal"}, "incident.signalled", "signalled", "reported_on"),
    ("measures", "update"): ({"open", "in_progress"}, "measure.updated", None, "on"),
    ("councils", "minutes"): ({"planned"}, "council.held", "held", "held_on"),
}


def record_body(row: QualityRecord) -> dict[str, Any]:
    """A record as the API shows it."""
    return {**row.data, "id": row.record_id, "record_type": row.kind, "status": row.status,
            "occurred_on": row.occurred_on.isoformat(), "version": row.version, "history": row.history}


def _future_dates(body: BaseModel, today: date, prefix: str = "") -> Iterable[dict[str, str]]:
    """The dates of ``body`` (and of the records it carries) that say something already happened
    (``happened`` in the domain) yet lie after ``today``."""
    fields = type(body).model_fields
    for name in getattr(body, "happened", ()):
        value = getattr(body, name)
        if value is not None and value > today:
            yield {"field": prefix + (fields[name].alias or name), "code": "date_in_future",
                   "message": f"This records what already happened: no later than today ({today.isoformat()})."}
    for name, info in fields.items():
        value = getattr(body, name)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _future_dates(item, today, f"{prefix}{info.alias or name}.{i}.")


def not_in_future(body: BaseModel, today: date) -> None:
    """Refuses (every failed date listed) a record dated after ``today`` where it says something
    already happened."""
    errors = list(_future_dates(body, today))
    if errors:
        raise Refused("validation-error", "The request is not valid", "See errors.", errors=errors)


async def _append(uow: QualityUnitOfWork, cfa: str, actor: str, event: StreamEvent) -> None:
    try:
        await uow.events.append(cfa, actor, [event])
    except StreamChanged:
        raise Conflict("concurrent-update", "Concurrent update", "The record changed meanwhile; retry.") from None


async def create_record(uow: QualityUnitOfWork, principal: Principal, collection: str, body: BaseModel,
                        today: date) -> dict[str, Any]:
    """The record as stored (its body); the event ``<kind>.<created>`` opens its stream."""
    cfa, kind = cfa_of(principal), KINDS[collection]
    not_in_future(body, today)
    record_id = str(uuid.uuid4())
    data = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    async with uow:
        await _append(uow, cfa, principal.key_id,
                      StreamEvent(f"{kind.name}-{record_id}", 0, kind.event, {"id": record_id, "cfa": cfa, **data}))
        stored = await uow.records.add(QualityRecord(record_id, cfa, kind.name, kind.status,
                                                     date.fromisoformat(data[kind.date_field]), data, [], 1))
        await uow.commit()
    return record_body(stored)


async def take_step(uow: QualityUnitOfWork, principal: Principal, collection: str, step_name: str, record_id: str,
                    body: BaseModel, today: date) -> dict[str, Any]:
    """The record after the step (409 ``invalid-transition`` from a status the step does not
    leave, 422 ``before_record`` for a step dated before the record)."""
    cfa, kind = cfa_of(principal), KINDS[collection]
    not_in_future(body, today)
    async with uow:
        row = await uow.records.get(cfa, kind.name, record_id, lock=True)
        if row is None:
            raise NotFound(kind.name)
        allowed, event, status, date_field = STEPS[(collection, step_name)]
        data = body.model_dump(mode="json", exclude_none=True)
        if step_name == "update":
            status = data["status"]
            event = "measure.closed" if status in ("done", "abandoned") else event
        if row.status not in allowed:
            raise Conflict("invalid-transition", "The step does not fit the record's state",
                           f"The {kind.name} is {row.status}.",
                           current_state={"status": row.status, "version": row.version})
        if date.fromisoformat(data[date_field]) < row.occurred_on:
            raise Refused("validation-error", "The request is not valid", "See errors.", errors=[
                {"field": date_field, "code": "before_record", "message": "Dated before the record."}])
        await _append(uow, cfa, principal.key_id,
                      StreamEvent(f"{kind.name}-{record_id}", row.version, event, {"id": record_id, **data}))
        updated = await uow.records.update(record_id, status, list(row.history) + [{"event": event, **data}],
                                           row.version + 1)
        await uow.commit()
    return record_body(updated)
