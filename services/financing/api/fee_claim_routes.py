"""POST /v1/financing/fees: frais annexes claimed by a CFA (Idempotency-Key: a retry replays the
first answer, a refusal included)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from services.financing.api.dependencies import CurrentClock, UnitOfWork
from services.financing.application.claim_fee import FeeClaim, claim_fee
from kernel.errors import Refused
from shared.api.domain_errors import as_problem
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.api.problems import PROBLEM_JSON
from shared.auth import CurrentPrincipal
from shared.types import IsoDate, Line

router = APIRouter(tags=["financing"])
EXAMPLE = {"contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11", "kind": "meal", "date": "2025-01-10", "quantity": 2}


class FeeClaimIn(BaseModel):
    """A frais annexes claim by the CFA, for one day (or the path's first equipment)."""
    model_config = ConfigDict(extra="forbid")
    contract_id: Line = Field(min_length=1, max_length=64)
    kind: Literal["meal", "night", "boarding_day", "first_equipment", "mobility"]
    date: IsoDate
    quantity: int = Field(default=1, ge=1, le=10)
    amount: Decimal | None = Field(default=None, ge=0, le=100_000, decimal_places=2)


@router.post("/v1/financing/fees", status_code=201, summary="Claim frais annexes (CFA key)",
             responses={201: {"content": {"application/json": {"example": {
                 **EXAMPLE, "claim_id": "b0c4...", "billed_contract_id": EXAMPLE["contract_id"], "opco": "ATLAS",
                 "amount": "6.00", "invoice": {"funding_year": 1, "advance": 2}}}}}})
async def post_fee(body: Annotated[FeeClaimIn, Body(openapi_examples={"meals": {"value": EXAMPLE}})],
                   request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                   idempotency_key: IdempotencyKey = None):
    claim = FeeClaim(body.contract_id, body.kind, body.date, body.quantity, body.amount)

    async def claimed() -> Outcome:
        try:
            done = await claim_fee(uow, principal, claim, clock.today())
        except Refused as refusal:  # recorded as fees.refused: the answer is kept like a success
            return Outcome(422, as_problem(refusal).body(), {"Content-Type": PROBLEM_JSON})
        return Outcome(201, done, {"Location": f"/v1/financing/contracts/{done['billed_contract_id']}"})

    return respond(await run_once(request, uow, principal, idempotency_key, body, claimed))
