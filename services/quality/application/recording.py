"""Recording quality evidence: each command appends its event to the record's stream and updates
the record, in one transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.errors import Conflict, NotFound, Refused
from services.quality.adapters.tables import SCHEMA, absences, records
from services.quality.domain import records as r
from shared.api.idempotency import Outcome
from shared.auth import Principal, require_role
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import EventStore

store = EventStore(SCHEMA)


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


def record_body(row) -> dict[str, Any]:
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


def _cfa(principal: Principal) -> str:
    require_role(principal, "cfa")
    return principal.org


async def _append(conn: AsyncConnection, stream: str, version: int, event: str, data: dict, actor: str, cfa: str):
    try:
        await store.append(conn, [StreamAppend(stream, version, [NewEvent(event, data, metadata={
            "partitionkey": cfa, "actor": actor})])])
    except ConcurrencyConflict:
        raise Conflict("concurrent-update", "Concurrent update", "The record changed meanwhile; retry.") from None


async def create(conn: AsyncConnection, principal: Principal, collection: str, body: BaseModel,
                 today: date) -> Outcome:
    cfa, kind = _cfa(principal), KINDS[collection]
    not_in_future(body, today)
    record_id = str(uuid.uuid4())
    data = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    await _append(conn, f"{kind.name}-{record_id}", 0, kind.event, {"id": record_id, "cfa": cfa, **data},
                  principal.key_id, cfa)
    occurred = date.fromisoformat(data[kind.date_field])
    row = (await conn.execute(insert(records).values(
        record_id=record_id, cfa=cfa, kind=kind.name, status=kind.status, occurred_on=occurred, data=data,
        history=[], version=1).returning(*records.c))).first()
    return Outcome(201, record_body(row), {"Location": f"/v1/quality/{collection}/{record_id}"})


async def step(conn: AsyncConnection, principal: Principal, collection: str, step_name: str, record_id: str,
               body: BaseModel, today: date) -> Outcome:
    cfa, kind = _cfa(principal), KINDS[collection]
    not_in_future(body, today)
    row = (await conn.execute(select(records).where(records.c.record_id == record_id, records.c.kind == kind.name,
                                                    records.c.cfa == cfa).with_for_update())).first()
    if row is None:
        raise NotFound(kind.name)
    allowed, event, status, date_field = STEPS[(collection, step_name)]
    data = body.model_dump(mode="json", exclude_none=True)
    if step_name == "update":
        status = data["status"]
        event = "measure.closed" if status in ("done", "abandoned") else event
    if row.status not in allowed:
        raise Conflict("invalid-transition", "The step does not fit the record's state",
                       f"The {kind.name} is {row.status}.", current_state={"status": row.status, "version": row.version})
    if date.fromisoformat(data[date_field]) < row.occurred_on:
        raise Refused("validation-error", "The request is not valid", "See errors.",
                      errors=[{"field": date_field, "code": "before_record", "message": "Dated before the record."}])
    await _append(conn, f"{kind.name}-{record_id}", row.version, event, {"id": record_id, **data}, principal.key_id, cfa)
    history = list(row.history) + [{"event": event, **data}]
    updated = (await conn.execute(records.update().where(records.c.record_id == record_id).values(
        status=status, history=history, version=row.version + 1).returning(*records.c))).first()
    return Outcome(200, record_body(updated), {"ETag": f'"{updated.version}"'})


async def record_absences(conn: AsyncConnection, principal: Principal, body: r.Absence | r.AbsenceBatch,
                          today: date) -> Outcome:
    """Idempotent by the ERP's record id: a record already known is neither re-recorded nor changed.
    A batch with an absence dated after today is refused whole."""
    cfa = _cfa(principal)
    not_in_future(body, today)
    batch = body.absences if isinstance(body, r.AbsenceBatch) else [body]
    unique = {a.erp_record_id: a for a in batch}
    rows = [dict(cfa=cfa, erp_record_id=a.erp_record_id, apprentice_id=a.apprentice_id, grp=a.group, day=a.day,
                 hours=a.hours, justified=a.justified) for a in unique.values()]
    new: list[str] = []
    for i in range(0, len(rows), 4000):
        result = await conn.execute(insert(absences).values(rows[i:i + 4000]).on_conflict_do_nothing()
                                    .returning(absences.c.erp_record_id))
        new += [x[0] for x in result]
    if new:
        await store.append(conn, [StreamAppend(f"absence-{cfa}-{erp}", 0, [NewEvent(
            "absence.recorded", {"cfa": cfa, **unique[erp].model_dump(mode="json", exclude_none=True)},
            metadata={"partitionkey": cfa, "actor": principal.key_id})]) for erp in new])
    return Outcome(201 if new else 200, {"recorded": len(new), "already_recorded": len(unique) - len(new),
                                         "duplicates_in_request": len(batch) - len(unique)})
