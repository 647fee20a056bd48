"""Payment schedule (échéancier) of each funding year (docs/financing.md section 6). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from services.financing.domain import policy as p
from services.financing.domain.amounts import Line, cents
from contract_events.facts import ContractFacts
from services.financing.domain.spans import Span
from services.financing.domain.texts import iso_text
from kernel.months import add_months, months_started


@dataclass(frozen=True)
class _Step:
    """One advance of a plan (policy.SCHEDULES) with its due rule read once: ``rule`` is
    "invoice", "month" (``months`` after the funding year's first day), "end" or "attestation"."""
    number: int
    share: Decimal | None
    rule: str
    months: int | None


def _step(adv: p.Advance) -> _Step:
    rule, _, months = adv.due.partition(":")
    return _Step(adv.number, adv.share, rule, int(months) if rule == "month" else None)


_STEPS = {name: tuple(map(_step, plan)) for name, plan in p.SCHEDULES.items()}
_INVOICE_PAYMENT = timedelta(days=p.INVOICE_PAYMENT_DAYS)
SPLIT_CACHE_SIZE = 1 << 12         # (amount, contribution, plan) of the funding years split lately (~1 kB each)


def _invoice_due(line: Line, c: ContractFacts) -> date:
    """30 days after the funding year's invoice: its first day, or the deposit if later in year 1."""
    base = line.period_start
    if line.funding_year == 1 and c.deposited_on and c.deposited_on > base:
        base = c.deposited_on
    return base + _INVOICE_PAYMENT


def advances(lines: list[Line], c: ContractFacts, span: Span, today: date) -> list[dict]:
    funded = [l for l in lines if l.amount is not None]
    if not funded:
        return []
    plan = funded[0].regime
    if plan == "R2019" and months_started(span.start, span.end) < p.SHORT_SCHEDULE_MONTHS:
        plan = "R2019_short"
    steps = _STEPS[plan]
    invoice_dates = [_invoice_due(l, c) for l in funded]
    invoice_dates.append(None)   # after the last funding year: no next invoice
    out = []
    for i, line in enumerate(funded):
        contract_id, opco, cfa_uai, year = line.contract_id, line.opco, line.cfa_uai, line.funding_year
        invoice, next_invoice = invoice_dates[i], invoice_dates[i + 1]
        contribution = line.employer_contribution
        amounts = _split_texts(str(line.amount), None if contribution is None else str(contribution), plan)
        for step, (amount, taken) in zip(steps, amounts):
            # the due date, and the latest date it can still be claimed (the last year's attestation)
            rule, latest = step.rule, None
            if rule == "invoice":
                due = invoice
            elif rule == "month":
                due = add_months(line.period_start, step.months)
            elif rule == "end":
                due = span.end
            elif next_invoice is not None:   # attestation: with next year's first advance
                due = next_invoice
            else:
                due, latest = span.end, add_months(span.end, p.ATTESTATION_MONTHS)
            item = {"contract_id": contract_id, "opco": opco, "cfa_uai": cfa_uai, "funding_year": year,   # as schedule_item
                    "advance": step.number, "amount": amount, "due_on": iso_text[due],
                    "status": "due" if due <= today else "upcoming"}
            if latest is not None:
                item["latest_on"] = iso_text[latest]
            if taken is not None:
                item["employer_contribution"] = taken
            out.append(item)
    return out


def split(line: Line, plan: list[p.Advance]) -> list[tuple[Decimal, Decimal | None]]:
    """The advances of a funding year: shares of what it costs before the employer's contribution
    (décret 2025-585), the contribution taken from the first payment (the shortfall, if the first
    advance is smaller, from the next ones); each advance's contribution is reported beside it."""
    return _split(line.amount, line.employer_contribution, plan)


def _split(amount: Decimal, contribution: Decimal | None, plan: list[p.Advance] | tuple[_Step, ...]
           ) -> list[tuple[Decimal, Decimal | None]]:
    base = amount + (contribution or 0)
    remaining, owed, out = base, contribution or Decimal(0), []
    for adv in plan:
        gross = cents(base * adv.share) if adv.share is not None else remaining
        remaining -= gross
        taken = min(owed, gross)
        owed -= taken
        out.append((gross - taken, taken if contribution is not None and (taken or adv.number == 1) else None))
    return out


@lru_cache(maxsize=SPLIT_CACHE_SIZE)
def _split_texts(amount: str, contribution: str | None, plan: str) -> tuple[tuple[str, str | None], ...]:
    """``split`` of a funding year as the answer shows it (each advance's amount and contribution
    as text), by the exact text of its amount and contribution (``str`` of a Decimal gives it
    back whole, exponent included): many funding years cost the same (one NPEC, whole years), and
    hashing the text is cheaper than hashing a Decimal."""
    parts = _split(Decimal(amount), None if contribution is None else Decimal(contribution), _STEPS[plan])
    return tuple((f"{gross:.2f}", None if taken is None else f"{taken:.2f}") for gross, taken in parts)


def schedule_item(contract_id: str, opco: str | None, cfa_uai: str | None, funding_year: int, advance: int,
                  amount: Decimal, due: date, latest: date | None, today: date,
                  employer_contribution: Decimal | None = None) -> dict:
    """One advance as every answer shows it (computed, or read back from the projection);
    ``advances`` writes the same keys in the same order (tests/unit/financing/test_engine_records.py)."""
    item = {"contract_id": contract_id, "opco": opco, "cfa_uai": cfa_uai, "funding_year": funding_year,
            "advance": advance, "amount": f"{amount:.2f}", "due_on": due.isoformat(),
            "status": "due" if due <= today else "upcoming"}
    if latest is not None:
        item["latest_on"] = latest.isoformat()
    if employer_contribution is not None:
        item["employer_contribution"] = f"{employer_contribution:.2f}"
    return item
