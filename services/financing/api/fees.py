"""POST /v1/financing/fees: frais annexes claimed by a CFA."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Request

from services.financing.adapters.tables import SCHEMA
from services.financing.application.fees import FeeClaimIn, claim_fee
from shared.api.idempotency import fingerprint, once, respond
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["financing"])
EXAMPLE = {"contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11", "kind": "meal", "date": "2025-01-10", "quantity": 2}


@router.post("/v1/financing/fees", status_code=201, summary="Claim frais annexes (CFA key)",
             responses={201: {"content": {"application/json": {"example": {
                 **EXAMPLE, "claim_id": "b0c4...", "billed_contract_id": EXAMPLE["contract_id"], "opco": "ATLAS",
                 "amount": "6.00", "invoice": {"funding_year": 1, "advance": 2}}}}}})
async def post_fee(body: Annotated[FeeClaimIn, Body(openapi_examples={"meals": {"value": EXAMPLE}})],
                   request: Request, principal: CurrentPrincipal,
                   idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None):
    digest = fingerprint("POST", request.url.path, body.model_dump(mode="json"))
    async with request.app.state.engine.begin() as conn:
        outcome = await once(conn, SCHEMA, principal.key_id, idempotency_key, digest,
                             lambda: claim_fee(conn, principal, body, request.app.state.clock.today()))
    return respond(outcome)
