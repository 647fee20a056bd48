"""The CFA's side of the money loop (docs/billing.md): what it may invoice now, an invoice issued
for one or several advances of one OPCO (with the frais annexes placed on them and the open
regularisations netted), a certificate attached, an invoice cancelled by a credit note; and the
OPCO's acceptance or rejection."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kernel.access import Principal, can_see, require_role
from kernel.errors import Conflict, Refused
from services.financing.application.accounts import ledger_of, load_invoice, record, scope
from services.financing.application.regularisations import propose
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain import policy
from services.financing.domain.billing import (ACTIVE, AdvanceKey, Certificate, Line, Problems, ZERO,
                                               advance_problems, document_number, fold_invoice, invoice_stream,
                                               money, net_regularisations, regularisation_stream)


@dataclass(frozen=True)
class AdvanceAsked:
    contract_id: str
    funding_year: int
    advance: int
    amount: Decimal | None = None

    @property
    def key(self) -> AdvanceKey:
        return (self.contract_id, self.funding_year, self.advance)


def _refuse(problems: Problems, title: str):
    if all(p["code"] == "advance_already_invoiced" for p in problems.items):
        return Conflict("advance-already-invoiced", title, problems.items[0]["message"], errors=problems.items)
    return Refused("invoice-refused", title, "; ".join(p["message"] for p in problems.items), errors=problems.items)


async def invoiceable(uow: FinancingUnitOfWork, principal: Principal, today: date, opco: str | None = None) -> dict:
    """The advances a CFA may invoice today, per OPCO, with the fees that go on them and the
    regularisations its next invoice to that OPCO will net."""
    require_role(principal, "cfa")
    async with uow:
        accounts = await uow.billing.ledgers(*scope(principal, opco=opco))
        advances = await uow.billing.advances_of(accounts)
        ledger = await ledger_of(uow, accounts)
        billed = ledger.billed()
        ready = [a for a in advances if a.key not in billed and a.due_on <= today and a.amount > 0
                 and not (a.latest_on is not None and a.latest_on < today)]
        claims = ledger.billed_claims()
        fees = [f for f in await uow.billing.fees_on([a.key for a in ready]) if f.claim_id not in claims]
    by_opco: dict[tuple[str, str], dict] = {}
    for a in ready:
        entry = by_opco.setdefault((a.cfa_uai, a.opco), {"cfa_uai": a.cfa_uai, "opco": a.opco, "advances": []})
        own = [f for f in fees if (f.contract_id, f.funding_year, f.advance) == a.key]
        item = {"contract_id": a.contract_id, "funding_year": a.funding_year, "advance": a.advance,
                "amount": money(a.amount), "due_on": a.due_on.isoformat(),
                "fees": [{"claim_id": f.claim_id, "kind": f.kind, "date": f.day.isoformat(),
                          "amount": money(f.amount)} for f in own],
                "certificates_needed": ["completion_attestation"] if a.needs_completion_attestation else ["realisation"]}
        if a.latest_on is not None:
            item["latest_on"] = a.latest_on.isoformat()
        if a.employer_contribution is not None:
            item["employer_contribution"] = money(a.employer_contribution)
        entry["advances"].append(item)
    out = []
    for (cfa_uai, opco_code), entry in sorted(by_opco.items()):
        regs = ledger.open_regularisations(cfa_uai, opco_code)
        gross = sum((Decimal(i["amount"]) + sum((Decimal(f["amount"]) for f in i["fees"]), ZERO)
                     for i in entry["advances"]), ZERO)
        netted = net_regularisations(gross, regs)
        out.append({**entry, "regularisations": [r.as_dict() for r in netted],
                    "total": money(gross - sum((r.amount for r in netted), ZERO))})
    return {"as_of_date": today.isoformat(), "invoiceable": out}


async def issue_invoice(uow: FinancingUnitOfWork, principal: Principal, opco: str, asked: list[AdvanceAsked],
                        certificates: list[Certificate], today: date) -> dict:
    """One invoice to one OPCO: the advances asked for (each due today, not invoiced yet, at most
    what is due on it now), the fees placed on them, the open regularisations netted; numbered in
    the CFA's gap-free sequence of the year."""
    require_role(principal, "cfa")
    problems = Problems()
    keys = [a.key for a in asked]
    for i, a in enumerate(asked):
        if keys.index(a.key) != i:
            problems.add(f"lines[{i}]", "duplicate_line", "This advance is asked for twice.")
    async with uow:
        found = await uow.billing.advances_at(keys)
        mine = {k: a for k, a in found.items() if can_see(principal, a.cfa_uai or "", a.cfa_siret, None)}
        cfas = {a.cfa_uai for a in mine.values()}
        if len(cfas) > 1:
            problems.add("lines", "invoice_mixed_cfa", "One invoice is issued by one CFA (UAI).")
        cfa_uai = next(iter(cfas), None)
        if cfa_uai is None:
            for i, _ in enumerate(asked):
                problems.add(f"lines[{i}]", "advance_unknown", "No such advance for this CFA.")
            raise _refuse(problems, "The invoice is refused")
        number = await uow.billing.next_number(cfa_uai, today.year)   # held: concurrent issuers queue here
        ledger = await ledger_of(uow, [(cfa_uai, opco)])
        if await propose(uow, today, [(cfa_uai, opco)], ledger):   # read again only when it proposed
            ledger = await ledger_of(uow, [(cfa_uai, opco)])
        billed = ledger.billed()
        attested = {(c.contract_id, c.funding_year, c.advance) for c in certificates
                    if c.kind == "completion_attestation"}
        for i, c in enumerate(certificates):
            if (c.contract_id, c.funding_year, c.advance) not in keys:
                problems.add(f"certificates[{i}]", "certificate_unrelated", "This certificate names no line asked for.")
        lines: list[Line] = []
        for i, a in enumerate(asked):
            now = mine.get(a.key)
            amount = advance_problems(i, a.key, a.amount, now, opco, a.key in billed, today, a.key in attested, problems)
            if amount is not None:
                lines.append(Line("advance", amount, a.contract_id, a.funding_year, a.advance,
                                  label=f"Avance {a.advance}, année de financement {a.funding_year}",
                                  employer_contribution=now.employer_contribution))
        if problems:
            raise _refuse(problems, "The invoice is refused")
        claims = ledger.billed_claims()
        for f in await uow.billing.fees_on(keys):
            if f.claim_id not in claims and f.opco == opco:
                lines.append(Line("fee", f.amount, f.contract_id, f.funding_year, f.advance, claim_id=f.claim_id,
                                  label=f"Frais annexes ({f.kind}, {f.day.isoformat()}, x{f.quantity})"))
        netted = net_regularisations(sum((l.amount for l in lines), ZERO), ledger.open_regularisations(cfa_uai, opco))
        for r in netted:
            lines.append(Line("regularisation", -r.amount, r.contract_id, r.funding_year, r.advance,
                              regularisation_id=r.regularisation_id, label=f"Régularisation : {r.reason}"))
        invoice_id = str(uuid.uuid4())
        cfa_siret = next((a.cfa_siret for a in mine.values() if a.cfa_siret), None)
        issued = {"invoice_id": invoice_id, "number": document_number("F", cfa_uai, today.year, number),
                  "cfa_uai": cfa_uai, "cfa_siret": cfa_siret, "opco": opco, "issued_on": today.isoformat(),
                  "payment_due_on": (today + timedelta(days=policy.INVOICE_PAYMENT_DAYS)).isoformat(),
                  "lines": [l.as_dict() for l in lines], "total": money(sum((l.amount for l in lines), ZERO))}
        events = [("invoice.issued", issued)] + [
            ("invoice.certificate_attached", {"invoice_id": invoice_id, "certificate": c.as_dict()})
            for c in certificates]
        settled: dict[str, list[tuple[str, dict]]] = {}   # one append per stream (an advance may shrink twice)
        for r in netted:
            settled.setdefault(regularisation_stream(r.contract_id, r.funding_year, r.advance), []).append((
                "regularisation.settled", {"regularisation_id": r.regularisation_id, "invoice_id": invoice_id,
                                           "settled_on": today.isoformat(), "amount": money(r.amount)}))
        appends = [(invoice_stream(invoice_id), 0, events)] + [
            (stream, ledger.versions.get(stream, 0), evs) for stream, evs in settled.items()]
        await record(uow, principal, (cfa_uai, opco), appends)
        await uow.commit()
    return fold_invoice(events).as_dict()


async def attach_certificate(uow: FinancingUnitOfWork, principal: Principal, invoice_id: str, c: Certificate,
                             if_match: int | None, today: date) -> dict:
    require_role(principal, "cfa")
    async with uow:
        inv, version = await load_invoice(uow, principal, invoice_id, if_match)
        if inv.status not in ACTIVE:
            raise Conflict("invoice-closed", "The invoice is closed", f"The invoice is {inv.status}.",
                           current_state=inv.status)
        if (c.contract_id, c.funding_year, c.advance) not in inv.advance_keys():
            raise Refused("certificate-unrelated", "The certificate names no line of this invoice",
                          errors=[{"field": "contract_id", "code": "certificate_unrelated",
                                   "message": "Name an advance (contract, funding year, advance) of this invoice."}])
        event = ("invoice.certificate_attached", {"invoice_id": invoice_id, "certificate": c.as_dict()})
        await record(uow, principal, (inv.cfa_uai, inv.opco), [(invoice_stream(invoice_id), version, [event])])
        await uow.commit()
        inv, _ = await load_invoice(uow, principal, invoice_id)
    return inv.as_dict()


async def _not_netted_elsewhere(uow: FinancingUnitOfWork, inv) -> None:
    """An invoice a regularisation corrects, once that regularisation is netted on another active
    invoice, stays: withdrawing it would leave the other invoice's negative line without cause.
    The invoice that netted it goes first."""
    ledger = await ledger_of(uow, [(inv.cfa_uai, inv.opco)])
    netted_on = [ledger.invoices[r.settled_by].number for r in ledger.regularisations.values()
                 if r.invoice_id == inv.invoice_id and ledger.settled(r)]
    if netted_on:
        raise Conflict("invoice-regularised", "A regularisation of this invoice is netted on another one",
                       f"Its regularisation is netted on {', '.join(sorted(set(netted_on)))}: cancel or reject that "
                       "invoice first.", netted_on=sorted(set(netted_on)))


def missing_certificates(inv) -> list[dict]:
    """The advances of an invoice without the certificate the OPCO needs to accept it: a
    certificat de réalisation naming it, or for the R2025 balance the completion attestation."""
    out = []
    for n, line in enumerate(inv.lines):
        if line.key and not any(c.covers(line.key) for c in inv.certificates):
            out.append({"field": f"lines[{n}]", "code": "certificate_missing",
                        "message": "No certificate names this advance (contract, funding year, advance)."})
    return out


async def decide_invoice(uow: FinancingUnitOfWork, principal: Principal, invoice_id: str, accepted: bool,
                         decided_on: date, motive: str | None, comment: str | None, if_match: int | None) -> dict:
    require_role(principal, "opco")
    async with uow:
        inv, version = await load_invoice(uow, principal, invoice_id, if_match)
        if inv.status != "issued":
            raise Conflict("invoice-already-decided", "The invoice is decided already",
                           f"The invoice is {inv.status}.", current_state=inv.status)
        if accepted:
            missing = missing_certificates(inv)
            if missing:
                raise Refused("certificate-missing", "A certificate is missing",
                              "Each advance is accepted on its certificat de réalisation.", errors=missing)
            event = ("invoice.accepted", {"invoice_id": invoice_id, "decided_on": decided_on.isoformat()})
        else:
            await _not_netted_elsewhere(uow, inv)
            event = ("invoice.rejected", {"invoice_id": invoice_id, "decided_on": decided_on.isoformat(),
                                          "motive": motive, "comment": comment})
        await record(uow, principal, (inv.cfa_uai, inv.opco), [(invoice_stream(invoice_id), version, [event])])
        await uow.commit()
        inv, _ = await load_invoice(uow, principal, invoice_id)
    return inv.as_dict()


async def cancel_invoice(uow: FinancingUnitOfWork, principal: Principal, invoice_id: str, reason: str,
                         if_match: int | None, today: date) -> dict:
    """A credit note (avoir) for the whole invoice, numbered in the same sequence, while nothing is
    paid on it: its advances, fees and regularisations may go on a new invoice."""
    require_role(principal, "cfa")
    async with uow:
        inv, _ = await load_invoice(uow, principal, invoice_id, if_match)
        number = await uow.billing.next_number(inv.cfa_uai, today.year)
        inv, version = await load_invoice(uow, principal, invoice_id, if_match)   # as of the lock
        if inv.status not in ACTIVE:
            raise Conflict("invoice-closed", "The invoice is closed", f"The invoice is {inv.status}.",
                           current_state=inv.status)
        await _not_netted_elsewhere(uow, inv)
        if inv.paid > 0:
            raise Conflict("invoice-paid", "The invoice is paid",
                           f"{money(inv.paid)} is paid on it: it can no longer be cancelled; the regularisation "
                           "of what is owed back goes on the next invoice.")
        event = ("invoice.cancelled", {"invoice_id": invoice_id, "cancelled_on": today.isoformat(), "reason": reason,
                                       "credit_note_number": document_number("A", inv.cfa_uai, today.year, number),
                                       "credit_note_total": money(inv.total)})
        await record(uow, principal, (inv.cfa_uai, inv.opco), [(invoice_stream(invoice_id), version, [event])])
        await uow.commit()
        inv, _ = await load_invoice(uow, principal, invoice_id)
    return inv.as_dict()
