"""The money loop over HTTP (docs/billing.md): the CFA's invoices, certificates and credit notes,
the OPCO's acceptances, rejections and payments, both sides' balances and reconciliation report.
Every POST takes an Idempotency-Key; every invoice answers with its ETag and its commands honour
If-Match."""
from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.financing.api.dependencies import CurrentClock, SnapshotUnitOfWork, UnitOfWork, example
from services.financing.application import balances as balance_handlers
from services.financing.application import invoicing, payments
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.billing import CERTIFICATE_KINDS, CERTIFICATE_SCOPES, REJECTION_MOTIVES, Certificate
from services.financing.application.accounts import load_invoice, scope
from kernel.spreadsheet import safe_cell
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.api.if_match import IfMatch, parse_if_match
from shared.api.problems import Problem
from shared.auth import CurrentPrincipal, Principal
from shared.types import IsoDate, IsoDateTime, Line, Prose

router = APIRouter(tags=["invoices and payments"])
Money = Annotated[Decimal, Field(gt=0, le=10_000_000, decimal_places=2)]
ContractId = Annotated[Line, Field(min_length=1, max_length=64)]
Code = Annotated[Line, Field(min_length=1, max_length=32)]
AsOf = Annotated[IsoDateTime | None, Query(description="what was known then (UTC timestamp)")]

INVOICE_EXAMPLE = {"opco": "ATLAS", "lines": [{"contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11",
                                               "funding_year": 1, "advance": 1}],
                   "certificates": [{"kind": "realisation", "scope": "intermediate",
                                     "contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11", "funding_year": 1,
                                     "advance": 1, "period_start": "2025-09-01", "period_end": "2025-09-30",
                                     "hours": "70", "reference": "CR-2025-0042"}]}
INVOICE_ANSWER = {"invoice_id": "0b3c...", "number": "F-0751234J-2025-00001", "cfa_uai": "0751234J",
                  "opco": "ATLAS", "issued_on": "2025-10-01", "payment_due_on": "2025-10-31", "status": "issued",
                  "payment_status": "unpaid", "total": "2800.00", "paid": "0.00", "outstanding": "2800.00",
                  "lines": [{"kind": "advance", "contract_id": "6c1f...", "funding_year": 1, "advance": 1,
                             "amount": "2800.00", "label": "Avance 1, année de financement 1"}],
                  "certificates": [], "allocations": [], "version": 2}


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: ContractId
    funding_year: int = Field(ge=1, le=10)
    advance: int = Field(ge=1, le=10)
    amount: Money | None = Field(default=None, description="default: what is due on the advance now")


class CertificateBody(BaseModel):
    """A certificat de réalisation (intermediate or final) or an attestation, naming the échéance
    (contract, funding year, advance) it covers, the period and the hours done."""
    model_config = ConfigDict(extra="forbid")
    kind: Literal[CERTIFICATE_KINDS]
    scope: Literal[CERTIFICATE_SCOPES] = "intermediate"
    contract_id: ContractId
    funding_year: int = Field(ge=1, le=10)
    advance: int = Field(ge=1, le=10)
    period_start: IsoDate
    period_end: IsoDate
    hours: Decimal = Field(ge=0, le=10_000, decimal_places=2)
    reference: Line = Field(min_length=1, max_length=200, description="the document's reference in the CFA's files")

    def certificate(self, today: date) -> Certificate:
        """The certificate as attached today, with an id of its own."""
        if self.period_end < self.period_start:
            raise Problem(422, "validation-error", "The request is not valid", "The period ends before it starts.",
                          errors=[{"field": "period_end", "code": "period_reversed", "message": "Before period_start."}])
        return Certificate(str(uuid.uuid4()), self.kind, self.scope, self.contract_id, self.funding_year, self.advance,
                           self.period_start, self.period_end, self.hours, self.reference, today)


class InvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opco: Code
    lines: list[AdvanceIn] = Field(min_length=1, max_length=500)
    certificates: list[CertificateBody] = Field(default_factory=list, max_length=500)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decided_on: IsoDate | None = None


class RejectionIn(DecisionIn):
    motive: Literal[REJECTION_MOTIVES]
    comment: Prose | None = Field(default=None, max_length=2000)


class CancellationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Line = Field(min_length=1, max_length=500)


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: ContractId
    amount: Money


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cfa_uai: Code
    amount: Money
    paid_on: IsoDate
    bank_reference: Line = Field(min_length=1, max_length=140)
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=500)


class AllocationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allocations: list[AllocationIn] = Field(min_length=1, max_length=500)


def _invoice_outcome(status: int, invoice: dict) -> Outcome:
    return Outcome(status, invoice, {"ETag": f'"{invoice["version"]}"',
                                     "Location": f"/v1/financing/invoices/{invoice['invoice_id']}"})


def _future(day, today, field: str) -> None:
    if day is not None and day > today:
        raise Problem(422, "validation-error", "The request is not valid", "This date is after today.",
                      errors=[{"field": field, "code": "date_in_future", "message": "After today."}])


async def _idempotent(request: Request, uow: FinancingUnitOfWork, principal: Principal, key: str | None,
                      body: BaseModel, action) -> Response:
    return respond(await run_once(request, uow, principal, key, body, action))


# -- the CFA ---------------------------------------------------------------------------------------
@router.get("/v1/financing/invoiceable", summary="What this CFA may invoice today, per OPCO (CFA key)",
            responses=example({"as_of_date": "2025-10-01", "invoiceable": [
                {"cfa_uai": "0751234J", "opco": "ATLAS", "advances": [], "regularisations": [], "total": "0.00"}]}))
async def get_invoiceable(uow: SnapshotUnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                          opco: Code | None = None):
    return await invoicing.invoiceable(uow, principal, clock.today(), opco)


@router.post("/v1/financing/invoices", status_code=201, summary="Issue an invoice to one OPCO (CFA key)",
             responses={201: {"content": {"application/json": {"example": INVOICE_ANSWER}}}})
async def post_invoice(body: Annotated[InvoiceIn, Body(openapi_examples={"one advance": {"value": INVOICE_EXAMPLE}})],
                       request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                       idempotency_key: IdempotencyKey = None):
    asked = [invoicing.AdvanceAsked(l.contract_id, l.funding_year, l.advance, l.amount) for l in body.lines]
    certificates = [c.certificate(clock.today()) for c in body.certificates]

    async def issue() -> Outcome:
        return _invoice_outcome(201, await invoicing.issue_invoice(uow, principal, body.opco, asked, certificates,
                                                                   clock.today()))
    return await _idempotent(request, uow, principal, idempotency_key, body, issue)


@router.post("/v1/financing/invoices/{invoice_id}/certificates", summary="Attach a certificate (CFA key)",
             responses=example(INVOICE_ANSWER))
async def post_certificate(invoice_id: str, body: Annotated[CertificateBody, Body(openapi_examples={
                               "realisation": {"value": INVOICE_EXAMPLE["certificates"][0]}})],
                           request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                           if_match: IfMatch = None, idempotency_key: IdempotencyKey = None):
    expected, certificate = parse_if_match(if_match), body.certificate(clock.today())

    async def attach() -> Outcome:
        return _invoice_outcome(200, await invoicing.attach_certificate(uow, principal, invoice_id, certificate,
                                                                        expected, clock.today()))
    return await _idempotent(request, uow, principal, idempotency_key, body, attach)


@router.post("/v1/financing/invoices/{invoice_id}/cancellation", summary="Cancel by a credit note (CFA key)",
             responses=example({**INVOICE_ANSWER, "status": "cancelled", "credit_note": {
                 "number": "A-0751234J-2025-00002", "issued_on": "2025-10-02", "reason": "wrong amount",
                 "total": "-2800.00"}}))
async def post_cancellation(invoice_id: str, body: Annotated[CancellationIn, Body(openapi_examples={
                                "wrong": {"value": {"reason": "wrong amount"}}})],
                            request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                            if_match: IfMatch = None, idempotency_key: IdempotencyKey = None):
    expected = parse_if_match(if_match)

    async def cancel() -> Outcome:
        return _invoice_outcome(200, await invoicing.cancel_invoice(uow, principal, invoice_id, body.reason,
                                                                    expected, clock.today()))
    return await _idempotent(request, uow, principal, idempotency_key, body, cancel)


# -- the OPCO --------------------------------------------------------------------------------------
@router.post("/v1/financing/invoices/{invoice_id}/acceptance", summary="Accept an invoice (OPCO key)",
             responses=example({**INVOICE_ANSWER, "status": "accepted"}))
async def post_acceptance(invoice_id: str, body: Annotated[DecisionIn, Body(openapi_examples={
                              "today": {"value": {}}})],
                          request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                          if_match: IfMatch = None, idempotency_key: IdempotencyKey = None):
    expected, today = parse_if_match(if_match), clock.today()
    _future(body.decided_on, today, "decided_on")

    async def accept() -> Outcome:
        return _invoice_outcome(200, await invoicing.decide_invoice(uow, principal, invoice_id, True,
                                                                    body.decided_on or today, None, None, expected))
    return await _idempotent(request, uow, principal, idempotency_key, body, accept)


@router.post("/v1/financing/invoices/{invoice_id}/rejection", summary="Reject an invoice with a motive (OPCO key)",
             responses=example({**INVOICE_ANSWER, "status": "rejected", "motive": "amount_incorrect"}))
async def post_rejection(invoice_id: str, body: Annotated[RejectionIn, Body(openapi_examples={
                             "amount": {"value": {"motive": "amount_incorrect", "comment": "Avance 2 attendue"}}})],
                         request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                         if_match: IfMatch = None, idempotency_key: IdempotencyKey = None):
    expected, today = parse_if_match(if_match), clock.today()
    _future(body.decided_on, today, "decided_on")

    async def reject() -> Outcome:
        return _invoice_outcome(200, await invoicing.decide_invoice(uow, principal, invoice_id, False,
                                                                    body.decided_on or today, body.motive,
                                                                    body.comment, expected))
    return await _idempotent(request, uow, principal, idempotency_key, body, reject)


PAYMENT_EXAMPLE = {"cfa_uai": "0751234J", "amount": "2800.00", "paid_on": "2025-10-20",
                   "bank_reference": "VIR-2025-10-20-0001", "allocations": [{"invoice_id": "0b3c...",
                                                                             "amount": "2800.00"}]}


@router.post("/v1/financing/payments", status_code=201, summary="Record a payment to a CFA (OPCO key)",
             responses={201: {"content": {"application/json": {"example": {
                 **PAYMENT_EXAMPLE, "payment_id": "9f1e...", "allocated": "2800.00", "unallocated": "0.00"}}}}})
async def post_payment(body: Annotated[PaymentIn, Body(openapi_examples={"one invoice": {"value": PAYMENT_EXAMPLE}})],
                       request: Request, uow: UnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                       idempotency_key: IdempotencyKey = None):
    allocations = [payments.Allocation(a.invoice_id, a.amount) for a in body.allocations]

    async def pay() -> Outcome:
        done = await payments.record_payment(uow, principal, body.cfa_uai, body.amount, body.paid_on,
                                             body.bank_reference, allocations, clock.today())
        return Outcome(201, done, {"Location": f"/v1/financing/payments/{done['payment_id']}"})
    return await _idempotent(request, uow, principal, idempotency_key, body, pay)


@router.post("/v1/financing/payments/{payment_id}/allocations", summary="Allocate what a payment left (OPCO key)",
             responses=example({**PAYMENT_EXAMPLE, "payment_id": "9f1e...", "allocated": "2800.00",
                                "unallocated": "0.00"}))
async def post_allocations(payment_id: str, body: Annotated[AllocationsIn, Body(openapi_examples={
                               "one": {"value": {"allocations": PAYMENT_EXAMPLE["allocations"]}}})],
                           request: Request, uow: UnitOfWork, principal: CurrentPrincipal,
                           idempotency_key: IdempotencyKey = None):
    allocations = [payments.Allocation(a.invoice_id, a.amount) for a in body.allocations]

    async def allocate() -> Outcome:
        return Outcome(200, await payments.allocate(uow, principal, payment_id, allocations))
    return await _idempotent(request, uow, principal, idempotency_key, body, allocate)


# -- both ------------------------------------------------------------------------------------------
def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"i{seq}".encode()).decode()


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith("i"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.") from None


@router.get("/v1/financing/invoices", summary="Invoices this key may see, in issue order (cursor pages)",
            responses=example({"items": [INVOICE_ANSWER], "next": None}))
async def list_invoices(request: Request, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                        status: Literal["issued", "accepted", "rejected", "cancelled"] | None = None,
                        cfa_uai: Code | None = None, opco: Code | None = None,
                        from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None,
                        cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50):
    cfa, opco_code = scope(principal, None, opco)
    async with uow:
        page = await uow.billing.invoice_documents(cfa=cfa, opco=opco_code, status=status, cfa_uai=cfa_uai,
                                                   issued_from=from_, issued_to=to,
                                                   after_seq=_decode(cursor) if cursor else 0, limit=limit + 1)
    nxt = None
    if len(page) > limit:
        page = page[:limit]
        params = {**dict(request.query_params), "cursor": _encode(page[-1][0])}
        nxt = "/v1/financing/invoices?" + urlencode(params)
    return {"items": [doc for _, doc in page], "next": nxt}


@router.get("/v1/financing/invoices/{invoice_id}", summary="An invoice (its ETag is its version)",
            responses=example(INVOICE_ANSWER))
async def get_invoice(invoice_id: str, uow: SnapshotUnitOfWork, principal: CurrentPrincipal, as_of: AsOf = None):
    async with uow:
        inv, _ = await load_invoice(uow, principal, invoice_id, as_of=as_of)
    return JSONResponse(inv.as_dict(), headers={"ETag": f'"{inv.version}"'})


@router.get("/v1/financing/balances", summary="Balance of each account (CFA x OPCO) this key may see",
            responses=example({"as_of": None, "balances": [{
                "cfa_uai": "0751234J", "opco": "ATLAS", "invoiced": "2800.00", "paid": "2800.00",
                "outstanding": "0.00", "to_regularise": "0.00", "overpaid": "0.00", "balance": "0.00",
                "status": "settled"}]}))
async def get_balances(uow: SnapshotUnitOfWork, principal: CurrentPrincipal, cfa_uai: Code | None = None,
                       opco: Code | None = None, as_of: AsOf = None):
    return await balance_handlers.balances(uow, principal, cfa_uai, opco, as_of)


@router.get("/v1/financing/reconciliation",
            summary="Where invoices, payments and the computed funding disagree, line by line (JSON or CSV)",
            responses={200: {"content": {"application/json": {"example": {
                "from": "2025-01-01", "to": "2025-12-31", "errors": 0, "warnings": 0, "lines": [], "balances": []}},
                "text/csv": {"example": ",".join(balance_handlers.REPORT_COLUMNS) + "\n"}}}})
async def get_reconciliation(uow: SnapshotUnitOfWork, principal: CurrentPrincipal, clock: CurrentClock,
                             from_: Annotated[IsoDate, Query(alias="from")], to: IsoDate,
                             cfa_uai: Code | None = None, opco: Code | None = None,
                             format: Literal["json", "csv"] = "json", accept: Annotated[str | None, Header()] = None):
    if to < from_:
        raise Problem(422, "validation-error", "The request is not valid", "'to' is before 'from'.",
                      errors=[{"field": "query.to", "code": "period_reversed", "message": "Before 'from'."}])
    report = await balance_handlers.reconciliation(uow, principal, from_, to, cfa_uai, opco, clock.today())
    if format == "csv" or (accept or "").startswith("text/csv"):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=balance_handlers.REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: safe_cell("" if v is None else str(v)) for k, v in row.items()}
                         for row in report["lines"])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="reconciliation-{from_}-{to}.csv"'})
    return report
