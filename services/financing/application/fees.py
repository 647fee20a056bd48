"""Claim frais annexes: decide against the apprentice's funded spans, record ``fees.claimed``
(or ``fees.refused``) in the financing store and the fees table, in one transaction."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.tables import SCHEMA, fees
from services.financing.application.projection import apprentice_of, compute_paths
from services.financing.domain.fees import Claim, Refusal, decide, invoice_for
from shared.api.idempotency import Outcome
from shared.api.problems import PROBLEM_JSON, Problem, not_found
from shared.auth import Principal, require_role
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import EventStore
from shared.tenancy import can_see
from shared.types import IsoDate, Line

store = EventStore(SCHEMA)


class FeeClaimIn(BaseModel):
    """A frais annexes claim by the CFA, for one day (or the path's first equipment)."""
    model_config = ConfigDict(extra="forbid")
    contract_id: Line = Field(min_length=1, max_length=64)
    kind: Literal["meal", "night", "boarding_day", "first_equipment", "mobility"]
    date: IsoDate
    quantity: int = Field(default=1, ge=1, le=10)
    amount: Decimal | None = Field(default=None, ge=0, le=100_000, decimal_places=2)


async def _append(conn: AsyncConnection, apprentice: str, event_type: str, data: dict, actor: str) -> None:
    stream = f"fees-{apprentice}"
    version = await store.stream_version(conn, stream)
    try:
        await store.append(conn, [StreamAppend(stream, version, [
            NewEvent(event_type, data, metadata={"partitionkey": apprentice, "actor": actor})])])
    except ConcurrencyConflict:
        raise Problem(409, "concurrent-update", "Concurrent claim", "Another claim was recorded meanwhile; retry.") from None


async def claim_fee(conn: AsyncConnection, principal: Principal, body: FeeClaimIn, today: IsoDate) -> Outcome:
    require_role(principal, "cfa")
    apprentice = await apprentice_of(conn, body.contract_id)
    if apprentice is None:
        raise not_found("contract")
    result = await compute_paths(conn, [apprentice], today)
    contract = result.contracts.get(body.contract_id)
    if contract is None or not can_see(principal, contract.cfa_uai or "", contract.cfa_siret, contract.opco):
        raise not_found("contract")
    claimed = [(r.kind, r.day) for r in await conn.execute(
        select(fees.c.kind, fees.c.day).where(fees.c.apprentice_id == apprentice))]
    claim = Claim(body.kind, body.date, body.quantity, body.amount)
    span, amount, refusal = decide(claim, result.spans, claimed)
    claim_id = str(uuid.uuid4())
    base = {"claim_id": claim_id, "contract_id": body.contract_id, "kind": body.kind,
            "date": body.date.isoformat(), "quantity": body.quantity}
    if refusal is None:
        schedule = [a for a in result.schedule if a["contract_id"] == span.contract_id]
        invoice = invoice_for(body.kind, body.date, schedule)
        row = dict(claim_id=claim_id, apprentice_id=apprentice, contract_id=span.contract_id, opco=span.opco,
                   cfa_uai=contract.cfa_uai, kind=body.kind, day=body.date, quantity=body.quantity, amount=amount,
                   funding_year=invoice and invoice["funding_year"], advance=invoice and invoice["advance"])
        try:
            async with conn.begin_nested():
                await conn.execute(fees.insert().values(row))
        except IntegrityError:
            refusal = Refusal("fee_duplicate", f"A {body.kind} claim exists already for {body.date}.")
    if refusal is not None:
        await _append(conn, apprentice, "fees.refused", {**base, "code": refusal.code, "reason": refusal.message},
                      principal.key_id)
        problem = Problem(422, refusal.code.replace("_", "-"), "The claim is refused", refusal.message,
                          errors=[{"field": "kind" if "duplicate" in refusal.code else "date",
                                   "code": refusal.code, "message": refusal.message, "article": "D6332-87"}],
                          claim_id=claim_id)
        return Outcome(422, problem.body(), {"Content-Type": PROBLEM_JSON})
    claimed_data = {**base, "billed_contract_id": span.contract_id, "opco": span.opco,
                    "amount": f"{amount:.2f}", "invoice": invoice}
    await _append(conn, apprentice, "fees.claimed", claimed_data, principal.key_id)
    return Outcome(201, claimed_data, {"Location": f"/v1/financing/contracts/{span.contract_id}"})


async def fees_of(conn: AsyncConnection, contract_id: str, recorded_until=None) -> list[dict]:
    q = select(fees).where(fees.c.contract_id == contract_id).order_by(fees.c.day, fees.c.kind)
    if recorded_until is not None:
        q = q.where(fees.c.recorded_at <= recorded_until)
    return [{"claim_id": r.claim_id, "kind": r.kind, "date": r.day.isoformat(), "quantity": r.quantity,
             "amount": f"{r.amount:.2f}", "opco": r.opco,
             "invoice": {"funding_year": r.funding_year, "advance": r.advance} if r.advance else None}
            for r in await conn.execute(q)]
