"""Where each account stands (docs/billing.md): the balance of one CFA with one OPCO (invoiced,
paid, outstanding, overpaid, to regularise), and the reconciliation report that says line by line
where the CFA's invoices, the OPCO's payments and the funding computed from the contract log
disagree."""
from __future__ import annotations

from datetime import date, datetime

from kernel.access import Principal
from services.financing.application.accounts import ledger_of, scope
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.billing import ZERO, Ledger, money, overshoot

REPORT_COLUMNS = ("cfa_uai", "opco", "severity", "code", "date", "contract_id", "funding_year", "advance",
                  "invoice", "payment_id", "amount", "expected", "message")


def account_balance(ledger: Ledger, cfa_uai: str, opco: str) -> dict:
    invoices = [i for i in ledger.invoices.values() if (i.cfa_uai, i.opco) == (cfa_uai, opco)]
    active = [i for i in invoices if i.active]
    payments = [p for p in ledger.payments.values() if (p.cfa_uai, p.opco) == (cfa_uai, opco)]
    invoiced = sum((i.total for i in active), ZERO)
    paid = sum((p.amount for p in payments), ZERO)
    to_regularise = sum((r.amount for r in ledger.open_regularisations(cfa_uai, opco)), ZERO)
    balance = invoiced - to_regularise - paid
    contribution = sum((l.employer_contribution or ZERO for i in active for l in i.lines), ZERO)
    return {"cfa_uai": cfa_uai, "opco": opco, "invoices": len(active), "invoiced": money(invoiced),
            "credited": money(sum((i.total for i in invoices if i.status == "cancelled"), ZERO)),
            "paid": money(paid), "allocated": money(sum((p.allocated for p in payments), ZERO)),
            "unallocated": money(sum((p.unallocated for p in payments), ZERO)),
            "outstanding": money(sum((i.outstanding for i in active), ZERO)),
            "to_regularise": money(-to_regularise), "overpaid": money(max(-balance, ZERO)),
            "balance": money(balance), "employer_contribution_deducted": money(contribution),
            "status": "settled" if balance == 0 else ("owed" if balance > 0 else "overpaid")}


async def balances(uow: FinancingUnitOfWork, principal: Principal, cfa: str | None, opco: str | None,
                   as_of: datetime | None) -> dict:
    async with uow:
        accounts = await uow.billing.ledgers(*scope(principal, cfa, opco))
        ledger = await ledger_of(uow, accounts, as_of)
    return {"as_of": as_of.isoformat() if as_of else None,
            "balances": [account_balance(ledger, c, o) for c, o in accounts]}


def _row(cfa_uai, opco, severity, code, on, message, *, contract_id=None, funding_year=None, advance=None,
         invoice=None, payment_id=None, amount=None, expected=None) -> dict:
    return {"cfa_uai": cfa_uai, "opco": opco, "severity": severity, "code": code,
            "date": on.isoformat() if on else None, "contract_id": contract_id, "funding_year": funding_year,
            "advance": advance, "invoice": invoice, "payment_id": payment_id,
            "amount": money(amount) if amount is not None else None,
            "expected": money(expected) if expected is not None else None, "message": message}


async def reconciliation(uow: FinancingUnitOfWork, principal: Principal, start: date, end: date, cfa: str | None,
                         opco: str | None, today: date) -> dict:
    """Every disagreement dated within [start, end] (an error breaks a rule; a warning asks for an
    act before a deadline)."""
    async with uow:
        accounts = await uow.billing.ledgers(*scope(principal, cfa, opco))
        ledger = await ledger_of(uow, accounts)
        advances = await uow.billing.advances_of(accounts)
        billed = ledger.billed()
    rows: list[dict] = []
    now = {a.key: a for a in advances}
    regularised = ledger.regularised()
    for key, (inv, line, paid) in billed.items():
        a = now.get(key)
        due_now = a.amount if a is not None else ZERO
        over = overshoot(line.amount, due_now, regularised.get(key, ZERO))
        where = dict(contract_id=key[0], funding_year=key[1], advance=key[2], invoice=inv.number)
        if over > 0:
            rows.append(_row(inv.cfa_uai, inv.opco, "error", "invoice_above_due", inv.issued_on,
                             f"Invoiced {money(line.amount)}, {money(due_now)} due now: {money(over)} to regularise.",
                             amount=line.amount, expected=due_now, **where))
        if a is not None and a.latest_on is not None and inv.issued_on > a.latest_on:
            rows.append(_row(inv.cfa_uai, inv.opco, "error", "balance_invoiced_after_deadline", inv.issued_on,
                             f"The R2025 balance was invoiced after {a.latest_on.isoformat()} (4 months after the end).",
                             amount=line.amount, **where))
    for r in ledger.open_regularisations():
        rows.append(_row(r.cfa_uai, r.opco, "warning", "regularisation_open", r.proposed_on,
                         f"{money(r.amount)} owed back, to net on the next invoice: {r.reason}.",
                         contract_id=r.contract_id, funding_year=r.funding_year, advance=r.advance,
                         invoice=ledger.invoices[r.invoice_id].number, amount=-r.amount))
    for a in advances:
        if a.key in billed or a.amount <= 0:
            continue
        where = dict(contract_id=a.contract_id, funding_year=a.funding_year, advance=a.advance)
        if a.latest_on is not None and a.latest_on < today:
            rows.append(_row(a.cfa_uai, a.opco, "error", "advance_not_invoiced_past_deadline", a.latest_on,
                             "The R2025 balance was not invoiced within 4 months of the end: it is no longer due.",
                             amount=a.amount, **where))
        elif a.needs_completion_attestation:
            rows.append(_row(a.cfa_uai, a.opco, "warning", "completion_attestation_pending", a.latest_on or a.due_on,
                             "The balance is paid on the completion attestation: invoice it with the attestation "
                             f"by {(a.latest_on or a.due_on).isoformat()}.", amount=a.amount, **where))
        elif a.due_on < today:
            rows.append(_row(a.cfa_uai, a.opco, "warning", "advance_due_not_invoiced", a.due_on,
                             "This advance is due and not invoiced.", amount=a.amount, **where))
    for inv in ledger.invoices.values():
        if not inv.active and inv.allocations:
            rows.append(_row(inv.cfa_uai, inv.opco, "error", "payment_on_cancelled_invoice", inv.issued_on,
                             f"{money(inv.paid)} paid on an invoice now {inv.status}.", invoice=inv.number,
                             amount=inv.paid))
        elif inv.active and inv.outstanding > 0 and inv.payment_due_on < today:
            rows.append(_row(inv.cfa_uai, inv.opco, "warning", "invoice_unpaid_past_due", inv.payment_due_on,
                             f"{money(inv.outstanding)} unpaid since {inv.payment_due_on.isoformat()}.",
                             invoice=inv.number, amount=inv.outstanding))
    for p in ledger.payments.values():
        if p.unallocated > 0:
            rows.append(_row(p.cfa_uai, p.opco, "warning", "payment_unallocated", p.paid_on,
                             f"{money(p.unallocated)} of this payment is allocated to no invoice.",
                             payment_id=p.payment_id, amount=p.unallocated))
    rows = [r for r in rows if r["date"] is None or start.isoformat() <= r["date"] <= end.isoformat()]
    rows.sort(key=lambda r: (r["cfa_uai"] or "", r["opco"] or "", r["date"] or "", r["code"]))
    return {"from": start.isoformat(), "to": end.isoformat(), "as_of_date": today.isoformat(),
            "errors": sum(r["severity"] == "error" for r in rows),
            "warnings": sum(r["severity"] == "warning" for r in rows), "lines": rows,
            "balances": [account_balance(ledger, c, o) for c, o in accounts]}

