"""Follow the money: GET a contract's funding, an apprentice's OPCO handover, an OPCO's
commitments."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.financing.api.dependencies import CurrentClock, SnapshotUnitOfWork, example
from services.financing.application.commitments import commitments
from services.financing.application.contract_funding import contract_funding
from services.financing.application.handover import handover
from shared.auth import CurrentPrincipal
from shared.types import IsoDate, IsoDateTime

router = APIRouter(tags=["financing"])
AsOf = Annotated[IsoDateTime | None, Query(description="answer from the events recorded up to then (UTC timestamp)")]


@router.get("/v1/financing/contracts/{contract_id}", summary="A contract's funding: spans, funding years, schedule",
            responses=example({"contract_id": "c-1", "opco": "ATLAS", "regime": "R2019", "total": "7583.33",
                               "funding_years": [], "spans": [], "schedule": [], "fees": []}))
async def financing_contract(contract_id: str, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                             clock: CurrentClock, as_of: AsOf = None):
    return await contract_funding(uow, principal, contract_id, clock.today(), as_of)


@router.get("/v1/financing/apprentices/{apprentice_id}/handover",
            summary="Which OPCO is responsible for an apprentice, from when to when",
            responses=example({"apprentice_id": "a-1", "handover": [
                {"opco": "ATLAS", "contract_id": "c-1", "from": "2024-09-01", "to": "2025-03-09",
                 "reason": "contract start", "status": "funded"}]}))
async def apprentice_handover(apprentice_id: str, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                              as_of: AsOf = None):
    return await handover(uow, principal, apprentice_id, as_of)


@router.get("/v1/financing/opcos/{code}/commitments", summary="What an OPCO owes, per month and per CFA",
            responses=example({"opco": "ATLAS", "from": "2025-01-01", "to": "2025-12-31", "total": "3500.00",
                               "months": [{"month": "2025-03", "by_cfa": {"0751234J": "1750.00"},
                                           "total": "1750.00"}]}))
async def opco_commitments(code: str, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                           from_: Annotated[IsoDate, Query(alias="from")], to: IsoDate, as_of: AsOf = None):
    return await commitments(uow, principal, code, from_, to, as_of)
