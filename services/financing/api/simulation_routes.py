"""POST /v1/financing/simulations: quote a path of events, nothing stored."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from services.financing.api.dependencies import CurrentClock, UnitOfWork
from services.financing.application.simulate import quote
from services.financing.domain.inputs import SimulationIn
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["financing"])
EXAMPLE = {"events": [
    {"type": "contract.signed", "subject": "c-1", "data": {
        "contract_id": "c-1", "apprentice": {"id": "a-1", "birth_date": "2005-03-14"},
        "employer": {"siret": "12345678200010", "idcc": "1486"}, "opco": "ATLAS",
        "cfa": {"uai": "0751234J"}, "certification": {"rncp": "RNCP35185", "level": 5},
        "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2025-10-03",
        "contract_type": "11"}},
    {"type": "contract.funding_accepted", "subject": "c-1",
     "data": {"decided_on": "2024-09-28", "annual_funding_level": "7000"}}]}
RESULT = {"lines": [{"contract_id": "c-1", "opco": "ATLAS", "funding_year": 1, "period_start": "2024-09-28",
                     "period_end": "2025-09-27", "units": 12, "unit": "months", "amount": "7000.00",
                     "regime": "R2019", "status": "funded"}],
          "totals_by_opco": {"ATLAS": "7583.33"}, "schedule": [], "spans": [], "handover": {}}


@router.post("/v1/financing/simulations", summary="Compute funding for events given in the body (stores nothing)",
             responses={200: {"content": {"application/json": {"example": RESULT}}}})
async def simulation(body: Annotated[SimulationIn, Body(openapi_examples={"quote": {"value": EXAMPLE}})],
                     uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock):
    return await quote(uow, body, clock.today())
