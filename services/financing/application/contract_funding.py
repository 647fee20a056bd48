"""A contract's funding: spans, funding years, payment schedule, frais annexes.

Now, from what the projection stored (funding years, advances) and the path's events (facts and
spans, which need no referential); with ``as_of``, recomputed from the events recorded up to then
(time travel). Seen only by the keys the tenancy rule lets see the contract."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from contract_events.catalogue import status_after
from contract_events.facts import ContractFacts
from kernel.errors import NotFound
from kernel.months import months_started
from services.financing.application.accounts import ledger_of
from services.financing.application.authorization import sees
from services.financing.application.funding_paths import compute_paths, instant, path_facts
from services.financing.application.unit_of_work import FeeRecord, FinancingUnitOfWork
from services.financing.domain.amounts import line_dict
from services.financing.domain.billing import advance_status
from services.financing.domain.schedule import schedule_item
from services.financing.domain.spans import Span
from kernel.access import Principal


@dataclass
class Funding:
    """One contract's funding, stored or recomputed."""
    facts: ContractFacts | None
    spans: list[Span]
    years: list[dict]
    amounts: list[Decimal | None]
    regime: str | None
    npec_source: str | None
    schedule: list[dict]


async def _stored(uow: FinancingUnitOfWork, apprentice: str, contract_id: str, today: date) -> Funding | None:
    """None when the stored years predate the NPEC's source being kept (then recompute)."""
    facts, spans = await path_facts(uow.reads, [apprentice])
    years = await uow.reads.funding_years(contract_id)
    if any(y.npec_source is None for y in years):
        return None
    schedule = [schedule_item(a.contract_id, a.opco, a.cfa_uai, a.funding_year, a.advance, a.amount, a.due_on,
                              a.latest_on, today, a.employer_contribution) for a in await uow.reads.advances_of(contract_id)]
    return Funding(facts.get(contract_id), [s for s in spans if s.contract_id == contract_id],
                   [line_dict(y) for y in years], [y.amount for y in years], years[0].regime if years else None,
                   years[0].npec_source if years else None, schedule)


async def _recomputed(uow: FinancingUnitOfWork, apprentice: str, contract_id: str, today: date,
                      as_of: datetime | None) -> Funding:
    result = await compute_paths(uow, [apprentice], today, as_of)
    own = [l for l in result.lines if l.contract_id == contract_id]
    return Funding(result.contracts.get(contract_id), [s for s in result.spans if s.contract_id == contract_id],
                   [l.as_dict() for l in own], [l.amount for l in own], own[0].regime if own else None,
                   result.npec_sources.get(contract_id),
                   [a for a in result.schedule if a["contract_id"] == contract_id])


async def billing_statuses(uow: FinancingUnitOfWork, schedule: list[dict], today: date,
                           as_of: datetime | None) -> list[str]:
    """Each advance's status, from its account's invoices and payments (docs/billing.md)."""
    accounts = sorted({(a["cfa_uai"], a["opco"]) for a in schedule if a["cfa_uai"] and a["opco"]})
    ledger = await ledger_of(uow, accounts, as_of)
    billed, settled = ledger.billed(), ledger.regularised(settled_only=True)
    out = []
    for a in schedule:
        key = (a["contract_id"], a["funding_year"], a["advance"])
        latest = date.fromisoformat(a["latest_on"]) if a.get("latest_on") else None
        invoiced = paid = None
        if key in billed:
            _, line, paid = billed[key]
            invoiced, paid = line.amount - settled.get(key, 0), paid - settled.get(key, 0)
        out.append(advance_status(Decimal(a["amount"]), date.fromisoformat(a["due_on"]), latest, invoiced,
                                  paid or Decimal(0), today))
    return out


def fee_dict(c: FeeRecord) -> dict:
    return {"claim_id": c.claim_id, "kind": c.kind, "date": c.day.isoformat(), "quantity": c.quantity,
            "amount": f"{c.amount:.2f}", "opco": c.opco,
            "invoice": {"funding_year": c.funding_year, "advance": c.advance} if c.advance else None}


async def contract_funding(uow: FinancingUnitOfWork, principal: Principal, contract_id: str, today: date,
                           as_of: datetime | None) -> dict:
    as_of = instant(as_of)
    async with uow:
        apprentice = await uow.reads.apprentice_of(contract_id)
        if apprentice is None:
            raise NotFound("contract")
        funding = await _stored(uow, apprentice, contract_id, today) if as_of is None else None
        if funding is None:
            funding = await _recomputed(uow, apprentice, contract_id, as_of.date() if as_of else today, as_of)
        f = funding.facts
        if f is None or not sees(principal, f):
            raise NotFound("contract")
        claims = await uow.reads.fees_of(contract_id, as_of)
        statuses = await billing_statuses(uow, funding.schedule, as_of.date() if as_of else today, as_of)
    schedule = [dict(a, status=status, fees=[c.claim_id for c in claims if (c.funding_year, c.advance) == (
        a["funding_year"], a["advance"])]) for a, status in zip(funding.schedule, statuses)]
    total = sum((a for a in funding.amounts if a is not None), Decimal(0))
    return {
        "contract_id": contract_id, "apprentice_id": f.apprentice_id, "cfa_uai": f.cfa_uai, "opco": f.opco,
        "regime": funding.regime, "status": status_after(f.events),
        "signed_on": f.signed_on.isoformat(), "start_date": f.start_date.isoformat(),
        "planned_end_date": f.planned_end_date.isoformat(),
        "planned_funded_months": months_started(f.start_date, f.planned_end_date),
        "npec_source": funding.npec_source, "spans": [s.as_dict() for s in funding.spans],
        "funding_years": funding.years, "total": f"{total:.2f}",
        "schedule": schedule, "fees": [fee_dict(c) for c in claims], "as_of": as_of.isoformat() if as_of else None,
    }
