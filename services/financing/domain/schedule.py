"""Payment schedule (échéancier) of each funding year (docs/financing.md section 6). Pure."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from services.financing.domain import policy as p
from services.financing.domain.amounts import Line, cents
from contract_events.facts import ContractFacts
from services.financing.domain.spans import Span
from kernel.months import add_months, months_started


@cache
def _rule(due: str) -> tuple[str, int | None]:
    """A plan's due rule read once: ("month:N", N) for "month:N", (rule, None) otherwise."""
    return (due, int(due.split(":")[1])) if due.startswith("month:") else (due, None)


def _invoice_due(line: Line, c: ContractFacts) -> date:
    """30 days after the funding year's invoice: its first day, or the deposit if later in year 1."""
    base = line.period_start
    if line.funding_year == 1 and c.deposited_on and c.deposited_on > base:
        base = c.deposited_on
    return base + _INVOICE_PAYMENT


_INVOICE_PAYMENT = timedelta(days=p.INVOICE_PAYMENT_DAYS)


def _due(rule: str, line: Line, span: Span, invoice: date, next_invoice: date | None) -> tuple[date, date | None]:
    """(due date, latest date it can still be claimed); ``invoice``: this funding year's invoice
    date (``_invoice_due``), ``next_invoice`` the next year's if any."""
    rule, months = _rule(rule)
    if rule == "invoice":
        return invoice, None
    if months is not None:
        return add_months(line.period_start, months), None
    if rule == "end":
        return span.end, None
    if next_invoice is not None:  # attestation: with next year's first advance
        return next_invoice, None
    return span.end, add_months(span.end, p.ATTESTATION_MONTHS)


def advances(lines: list[Line], c: ContractFacts, span: Span, today: date) -> list[dict]:
    funded = [l for l in lines if l.amount is not None]
    if not funded:
        return []
    short = funded[0].regime == "R2019" and months_started(span.start, span.end) < p.SHORT_SCHEDULE_MONTHS
    plan = p.SCHEDULES["R2019_short" if short else funded[0].regime]
    invoice_dates = [_invoice_due(l, c) for l in funded]
    invoice_dates.append(None)   # after the last funding year: no next invoice
    out = []
    for i, line in enumerate(funded):
        invoice, nxt = invoice_dates[i], invoice_dates[i + 1]
        for adv, (amount, contribution) in zip(plan, split(line, plan)):
            due, latest = _due(adv.due, line, span, invoice, nxt)
            out.append(schedule_item(line.contract_id, line.opco, line.cfa_uai, line.funding_year, adv.number,
                                     amount, due, latest, today, contribution))
    return out


def split(line: Line, plan: list[p.Advance]) -> list[tuple[Decimal, Decimal | None]]:
    """The advances of a funding year: shares of what it costs before the employer's contribution
    (décret 2025-585), the contribution taken from the first payment (the shortfall, if the first
    advance is smaller, from the next ones); each advance's contribution is reported beside it."""
    base = line.amount + (line.employer_contribution or 0)
    remaining, owed, out = base, line.employer_contribution or Decimal(0), []
    for adv in plan:
        gross = cents(base * adv.share) if adv.share is not None else remaining
        remaining -= gross
        taken = min(owed, gross)
        owed -= taken
        out.append((gross - taken, taken if line.employer_contribution is not None and
                    (taken or adv.number == 1) else None))
    return out


def schedule_item(contract_id: str, opco: str | None, cfa_uai: str | None, funding_year: int, advance: int,
                  amount: Decimal, due: date, latest: date | None, today: date,
                  employer_contribution: Decimal | None = None) -> dict:
    """One advance as every answer shows it (computed, or read back from the projection)."""
    item = {"contract_id": contract_id, "opco": opco, "cfa_uai": cfa_uai, "funding_year": funding_year,
            "advance": advance, "amount": f"{amount:.2f}", "due_on": due.isoformat(),
            "status": "due" if due <= today else "upcoming"}
    if latest is not None:
        item["latest_on"] = latest.isoformat()
    if employer_contribution is not None:
        item["employer_contribution"] = f"{employer_contribution:.2f}"
    return item
