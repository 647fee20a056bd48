"""An apprentice path's funding from its stored contract events: the facts and spans alone (no
referential needed), or the whole computation; and the recomputation the projection stores."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Collection

from contract_events.facts import ContractFacts, fold_facts, rncp_of
from kernel.errors import Refused
from services.financing.application.unit_of_work import (FinancingUnitOfWork, FundingReads, FundingYear,
                                                         StoredAdvance)
from services.financing.domain.engine import Computation, compute
from services.financing.domain.spans import Span, compute_spans


def instant(as_of: datetime | None) -> datetime | None:
    """``as_of`` as an instant: a timestamp without its UTC offset is refused."""
    if as_of is not None and as_of.tzinfo is None:
        raise Refused("as-of-without-offset", "as_of needs a UTC offset", "e.g. 2025-01-31T23:59:59Z")
    return as_of


async def _events(reads: FundingReads, apprentice_ids: Collection[str], recorded_until: datetime | None):
    by_path = await reads.path_events(apprentice_ids, recorded_until)
    return [e for events in by_path.values() for e in events]


async def path_facts(reads: FundingReads, apprentice_ids: Collection[str],
                     recorded_until: datetime | None = None) -> tuple[dict[str, ContractFacts], list[Span]]:
    facts = fold_facts(await _events(reads, apprentice_ids, recorded_until))
    return facts, compute_spans(facts)


async def compute_paths(uow: FinancingUnitOfWork, apprentice_ids: Collection[str], today: date,
                        recorded_until: datetime | None = None) -> Computation:
    """The funding of these paths (one read of their events, one of the referential they need)."""
    events = await _events(uow.reads, apprentice_ids, recorded_until)
    referential = await uow.referential.load({r for e in events if (r := rncp_of(e))})
    return compute(events, referential, today)


async def recompute(uow: FinancingUnitOfWork, apprentice_ids: Collection[str], today: date) -> None:
    """Replace the stored funding years and advances of these paths."""
    if not apprentice_ids:
        return
    ids = list(apprentice_ids)
    result = await compute_paths(uow, ids, today)
    await uow.projection.replace_funding(ids, funding_years(result), stored_advances(result))


def funding_years(result: Computation) -> list[FundingYear]:
    return [FundingYear(l.contract_id, l.funding_year, l.apprentice_id, l.opco, l.cfa_uai, l.period_start,
                        l.period_end, l.units, l.unit, l.amount, l.regime, l.status, l.employer_contribution,
                        result.npec_sources.get(l.contract_id)) for l in result.lines]


def stored_advances(result: Computation) -> list[StoredAdvance]:
    out = []
    for a in result.schedule:
        contract = result.contracts[a["contract_id"]]
        out.append(StoredAdvance(a["contract_id"], a["funding_year"], a["advance"], contract.apprentice_id,
                                 a["opco"], a["cfa_uai"], contract.cfa_siret, Decimal(a["amount"]),
                                 date.fromisoformat(a["due_on"]),
                                 date.fromisoformat(a["latest_on"]) if a.get("latest_on") else None,
                                 Decimal(a["employer_contribution"]) if a.get("employer_contribution") else None))
    return out
