"""Claim frais annexes (D6332-87): decided against the apprentice's funded spans, billed to the
OPCO responsible that day; ``fees.claimed`` or ``fees.refused`` recorded in the financing store,
with the claim, in one unit of work. A refusal is recorded, then raised (``Refused``)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kernel.errors import Conflict, NotFound, Refused
from services.financing.application.authorization import sees
from services.financing.application.funding_paths import compute_paths
from services.financing.application.unit_of_work import FeeRecord, FinancingUnitOfWork, StreamChanged
from services.financing.domain import policy
from services.financing.domain.fee_rules import Claim, Refusal, decide, invoice_for
from kernel.access import Principal, require_role


@dataclass(frozen=True)
class FeeClaim:
    contract_id: str
    kind: str           # meal, night, boarding_day, first_equipment, mobility
    day: date
    quantity: int = 1
    amount: Decimal | None = None


def refused(refusal: Refusal, claim_id: str) -> Refused:
    field = "kind" if "duplicate" in refusal.code else "date"
    return Refused(refusal.code.replace("_", "-"), "The claim is refused", refusal.message,
                   errors=[{"field": field, "code": refusal.code, "message": refusal.message,
                            "article": policy.FEES_ARTICLE}], claim_id=claim_id)


async def _record(uow: FinancingUnitOfWork, apprentice: str, event_type: str, data: dict, actor: str) -> None:
    try:
        await uow.fee_claims.record(apprentice, event_type, data, actor)
    except StreamChanged:
        raise Conflict("concurrent-update", "Concurrent claim",
                       "Another claim was recorded meanwhile; retry.") from None


async def claim_fee(uow: FinancingUnitOfWork, principal: Principal, claim: FeeClaim, today: date) -> dict:
    """The claim as recorded (``fees.claimed``'s data); raises Refused (recorded as ``fees.refused``)."""
    require_role(principal, "cfa")
    async with uow:
        apprentice = await uow.reads.apprentice_of(claim.contract_id)
        if apprentice is None:
            raise NotFound("contract")
        result = await compute_paths(uow, [apprentice], today)
        contract = result.contracts.get(claim.contract_id)
        if contract is None or not sees(principal, contract):
            raise NotFound("contract")
        claimed = await uow.fee_claims.claimed(apprentice)
        span, amount, refusal = decide(Claim(claim.kind, claim.day, claim.quantity, claim.amount), result.spans,
                                       claimed)
        claim_id = str(uuid.uuid4())
        base = {"claim_id": claim_id, "contract_id": claim.contract_id, "kind": claim.kind,
                "date": claim.day.isoformat(), "quantity": claim.quantity}
        invoice = None
        if refusal is None:
            schedule = [a for a in result.schedule if a["contract_id"] == span.contract_id]
            invoice = invoice_for(claim.kind, claim.day, schedule)
            record = FeeRecord(claim_id, apprentice, span.contract_id, span.opco, contract.cfa_uai, claim.kind,
                               claim.day, claim.quantity, amount, invoice and invoice["funding_year"],
                               invoice and invoice["advance"])
            if not await uow.fee_claims.add(record):
                refusal = Refusal("fee_duplicate", f"A {claim.kind} claim exists already for {claim.day}.")
        if refusal is not None:
            await _record(uow, apprentice, "fees.refused", {**base, "code": refusal.code, "reason": refusal.message},
                          principal.key_id)
            await uow.commit()
            raise refused(refusal, claim_id)
        claimed_data = {**base, "billed_contract_id": span.contract_id, "opco": span.opco,
                        "amount": f"{amount:.2f}", "invoice": invoice}
        await _record(uow, apprentice, "fees.claimed", claimed_data, principal.key_id)
        await uow.commit()
    return claimed_data
