"""Follow the money: contracts, apprentices' handovers, OPCO commitments."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.financing.application import queries
from shared.api.problems import Problem, not_found
from shared.auth import CurrentPrincipal
from shared.types import IsoDate, IsoDateTime

router = APIRouter(tags=["financing"])
AsOf = Annotated[IsoDateTime | None, Query(description="answer from the events recorded up to then (UTC timestamp)")]


def _example(value) -> dict:
    return {200: {"content": {"application/json": {"example": value}}}}


def _aware(as_of: datetime | None) -> datetime | None:
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(422, "as-of-without-offset", "as_of needs a UTC offset", "e.g. 2025-01-31T23:59:59Z")
    return as_of


@router.get("/v1/financing/contracts/{contract_id}", summary="A contract's funding: spans, funding years, schedule",
            responses=_example({"contract_id": "c-1", "opco": "ATLAS", "regime": "R2019", "total": "7583.33",
                                "funding_years": [], "spans": [], "schedule": [], "fees": []}))
async def financing_contract(contract_id: str, request: Request, principal: CurrentPrincipal, as_of: AsOf = None):
    async with request.app.state.engine.connect() as conn:
        body = await queries.contract_funding(conn, principal, contract_id, request.app.state.clock.today(),
                                              _aware(as_of))
    if body is None:
        raise not_found("contract")
    return body


@router.get("/v1/financing/apprentices/{apprentice_id}/handover",
            summary="Which OPCO is responsible for an apprentice, from when to when",
            responses=_example({"apprentice_id": "a-1", "handover": [
                {"opco": "ATLAS", "contract_id": "c-1", "from": "2024-09-01", "to": "2025-03-09",
                 "reason": "contract start", "status": "funded"}]}))
async def apprentice_handover(apprentice_id: str, request: Request, principal: CurrentPrincipal, as_of: AsOf = None):
    async with request.app.state.engine.connect() as conn:
        segments = await queries.handover(conn, principal, apprentice_id, request.app.state.clock.today(),
                                          _aware(as_of))
    if segments is None:
        raise not_found("apprentice")
    return {"apprentice_id": apprentice_id, "handover": segments}


@router.get("/v1/financing/opcos/{code}/commitments", summary="What an OPCO owes, per month and per CFA",
            responses=_example({"opco": "ATLAS", "from": "2025-01-01", "to": "2025-12-31", "total": "3500.00",
                                "months": [{"month": "2025-03", "by_cfa": {"0751234J": "1750.00"},
                                            "total": "1750.00"}]}))
async def opco_commitments(code: str, request: Request, principal: CurrentPrincipal,
                           from_: Annotated[IsoDate, Query(alias="from")], to: IsoDate, as_of: AsOf = None):
    if principal.role == "opco" and principal.org != code:
        raise not_found("OPCO")
    if to < from_:
        raise Problem(422, "invalid-period", "Invalid period", "'to' is before 'from'.")
    async with request.app.state.engine.connect() as conn:
        return await queries.commitments(conn, principal, code, from_, to, request.app.state.clock.today(),
                                         _aware(as_of))
