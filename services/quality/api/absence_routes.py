"""/v1/quality/absences: absences from the CFA's ERP, one or in bulk, idempotent by ERP record id
(docs/quality.md, *Absences*)."""
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from services.quality.adapters.sql_unit_of_work import SqlUnitOfWork
from services.quality.api.dependencies import CurrentClock, UnitOfWork, example
from services.quality.application.absences import list_absences as listed, record_absences
from services.quality.domain import records as r
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.auth import CfaPrincipal, Principal
from shared.types import IsoDate

router = APIRouter(tags=["quality"])
ABSENCE = {"erp_record_id": "erp-7781", "apprentice_id": "app-1", "group": "BTS-MCO-1", "day": "2025-01-13",
           "hours": "3.5", "justified": False}


async def _record(request: Request, uow: SqlUnitOfWork, principal: Principal, today: date,
                  idempotency_key: str | None, body: r.Absence | r.AbsenceBatch) -> Response:
    async def recorded() -> Outcome:
        counts = await record_absences(uow, principal, body, today)
        return Outcome(201 if counts["recorded"] else 200, counts)
    return respond(await run_once(request, uow, principal, idempotency_key, body, recorded))


@router.post("/v1/quality/absences", status_code=201, summary="Record an absence (idempotent by ERP record id)",
             responses={201: example({"recorded": 1, "already_recorded": 0, "duplicates_in_request": 0})})
async def post_absence(body: Annotated[r.Absence, Body(openapi_examples={"example": {"value": ABSENCE}})],
                       request: Request, principal: CfaPrincipal, uow: UnitOfWork, clock: CurrentClock,
                       idempotency_key: IdempotencyKey = None):
    return await _record(request, uow, principal, clock.today(), idempotency_key, body)


@router.post("/v1/quality/absences/bulk", status_code=201, summary="Record absences in bulk (idempotent by ERP record id)",
             responses={201: example({"recorded": 2, "already_recorded": 1, "duplicates_in_request": 0})})
async def post_absences(body: Annotated[r.AbsenceBatch, Body(openapi_examples={"example": {"value": {
                            "absences": [ABSENCE, {**ABSENCE, "erp_record_id": "erp-7782", "day": "2025-01-14"}]}}})],
                        request: Request, principal: CfaPrincipal, uow: UnitOfWork, clock: CurrentClock,
                        idempotency_key: IdempotencyKey = None):
    return await _record(request, uow, principal, clock.today(), idempotency_key, body)


@router.get("/v1/quality/absences", summary="Absences (CFA key)", responses={200: example({"items": [ABSENCE]})})
async def list_absences(principal: CfaPrincipal, uow: UnitOfWork, apprentice_id: str | None = None,
                        from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                        limit: Annotated[int, Query(ge=1, le=10000)] = 1000):
    return await listed(uow, principal, apprentice_id, from_, to, limit)
