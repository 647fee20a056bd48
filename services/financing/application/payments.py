"""The OPCO's payments (docs/billing.md): an amount, a date and a bank reference, allocated to one
or several accepted invoices of one CFA (or part of one), never above what an invoice still owes;
what is not allocated stays on the payment until allocated later."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from kernel.access import Principal, require_role
from kernel.errors import Conflict, NotFound, Refused
from services.financing.application.accounts import record
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.billing import (Problems, ZERO, fold_invoice, fold_payment, invoice_stream, money,
                                               payment_stream)


@dataclass(frozen=True)
class Allocation:
    invoice_id: str
    amount: Decimal


async def _allocations(uow: FinancingUnitOfWork, principal: Principal, cfa_uai: str, payment_id: str,
                       paid_on: date, allocations: list[Allocation], available: Decimal,
                       problems: Problems) -> list[tuple[str, int, list[tuple[str, dict]]]]:
    """The ``payment.allocated`` event of each invoice (on its stream, at the version read)."""
    seen = set()
    if sum((a.amount for a in allocations), ZERO) > available:
        problems.add("allocations", "payment_over_allocation",
                     f"The allocations exceed what the payment leaves to allocate ({money(available)}).")
    streams = await uow.billing.streams([invoice_stream(a.invoice_id) for a in allocations])
    appends = []
    for i, a in enumerate(allocations):
        where = f"allocations[{i}]"
        events = streams.get(invoice_stream(a.invoice_id), [])
        inv = fold_invoice((e.type, e.data) for e in events)
        if a.invoice_id in seen:
            problems.add(where, "duplicate_allocation", "This invoice is named twice.")
            continue
        seen.add(a.invoice_id)
        if inv is None or inv.opco != principal.org or inv.cfa_uai != cfa_uai:
            problems.add(f"{where}.invoice_id", "invoice_unknown", "No such invoice of this CFA addressed to this OPCO.")
            continue
        if inv.status != "accepted":
            problems.add(f"{where}.invoice_id", "invoice_not_payable",
                         f"The invoice is {inv.status}: only an accepted invoice is paid.", current_state=inv.status)
            continue
        if a.amount > inv.outstanding:
            problems.add(f"{where}.amount", "payment_over_allocation",
                         f"The invoice still owes {money(inv.outstanding)}.", outstanding=money(inv.outstanding))
            continue
        appends.append((invoice_stream(a.invoice_id), len(events), [("payment.allocated", {
            "invoice_id": a.invoice_id, "payment_id": payment_id, "amount": money(a.amount),
            "paid_on": paid_on.isoformat()})]))
    return appends


def _refused(problems: Problems) -> Refused:
    return Refused("payment-refused", "The payment is refused", "; ".join(p["message"] for p in problems.items),
                   errors=problems.items)


async def record_payment(uow: FinancingUnitOfWork, principal: Principal, cfa_uai: str, amount: Decimal,
                         paid_on: date, bank_reference: str, allocations: list[Allocation], today: date) -> dict:
    require_role(principal, "opco")
    problems = Problems()
    if paid_on > today:
        problems.add("paid_on", "date_in_future", "A payment is recorded once made.")
    async with uow:
        existing = await uow.billing.payment_with_reference(principal.org, bank_reference)
        if existing is not None:
            raise Conflict("payment-duplicate", "Payment recorded already",
                           "A payment with this bank reference is recorded already.", payment_id=existing)
        payment_id = str(uuid.uuid4())
        appends = await _allocations(uow, principal, cfa_uai, payment_id, paid_on, allocations, amount, problems)
        if problems:
            raise _refused(problems)
        recorded = {"payment_id": payment_id, "opco": principal.org, "cfa_uai": cfa_uai, "amount": money(amount),
                    "paid_on": paid_on.isoformat(), "bank_reference": bank_reference,
                    "allocations": [{"invoice_id": a.invoice_id, "amount": money(a.amount)} for a in allocations]}
        await record(uow, principal, (cfa_uai, principal.org),
                     [(payment_stream(payment_id), 0, [("payment.recorded", recorded)])] + appends)
        await uow.commit()
    return fold_payment([("payment.recorded", recorded)]).as_dict()


async def allocate(uow: FinancingUnitOfWork, principal: Principal, payment_id: str, allocations: list[Allocation]) -> dict:
    """Allocate what a payment left unallocated."""
    require_role(principal, "opco")
    problems = Problems()
    async with uow:
        events = await uow.billing.stream(payment_stream(payment_id))
        payment = fold_payment((e.type, e.data) for e in events)
        if payment is None or payment.opco != principal.org:
            raise NotFound("payment")
        appends = await _allocations(uow, principal, payment.cfa_uai, payment_id, payment.paid_on, allocations,
                                     payment.unallocated, problems)
        if problems:
            raise _refused(problems)
        appends.append((payment_stream(payment_id), len(events), [
            ("payment.allocated", {"invoice_id": a.invoice_id, "payment_id": payment_id, "amount": money(a.amount),
                                   "paid_on": payment.paid_on.isoformat()}) for a in allocations]))
        await record(uow, principal, (payment.cfa_uai, payment.opco), appends)
        await uow.commit()
        payment = fold_payment((e.type, e.data) for e in await uow.billing.stream(payment_stream(payment_id)))
    return payment.as_dict()
