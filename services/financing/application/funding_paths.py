"""An apprentice path's funding from its stored contract events: the facts and spans alone (no
referential needed), or the whole computation; and the recomputation the projection stores."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Collection, Iterator

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


def year_columns(result: Computation) -> Iterator[tuple]:
    """Each funding year's columns, in ``FundingYear``'s order (the projection's rows; the bulk
    rebuild writes them as COPY text)."""
    sources = result.npec_sources
    for l in result.lines:
        yield (l.contract_id, l.funding_year, l.apprentice_id, l.opco, l.cfa_uai, l.period_start, l.period_end,
               l.units, l.unit, l.amount, l.regime, l.status, l.employer_contribution, sources.get(l.contract_id))


def advance_columns(result: Computation) -> Iterator[tuple]:
    """Each advance's columns, in ``StoredAdvance``'s order, its amounts and dates as the schedule
    gives them: text (``stored_advances`` reads them; the bulk rebuild writes them as they are)."""
    contracts = result.contracts
    for a in result.schedule:
        contract = contracts[a["contract_id"]]
        yield (a["contract_id"], a["funding_year"], a["advance"], contract.apprentice_id, a["opco"], a["cfa_uai"],
               contract.cfa_siret, a["amount"], a["due_on"], a.get("latest_on"), a.get("employer_contribution"))


def funding_years(result: Computation) -> list[FundingYear]:
    return [FundingYear(*columns) for columns in year_columns(result)]


def stored_advances(result: Computation) -> list[StoredAdvance]:
    return [StoredAdvance(contract_id, year, advance, apprentice_id, opco, cfa_uai, cfa_siret, Decimal(amount),
                          date.fromisoformat(due_on), date.fromisoformat(latest_on) if latest_on else None,
                          Decimal(contribution) if contribution else None)
            for contract_id, year, advance, apprentice_id, opco, cfa_uai, cfa_siret, amount, due_on, latest_on,
            contribution in advance_columns(result)]
