"""In-memory stand-ins for the financing unit of work's ports (application/unit_of_work.py): the
same behaviour as the SQL adapters, on lists and dicts. A unit left without committing restores
what it found; a unit entered inside another joins it."""
from __future__ import annotations

from contract_events.facts import rncp_of

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal

from kernel.reference.tables import seed_values
from services.financing.application.unit_of_work import (ContractSummary, DueTotal, FeeRecord, FundingYear,
                                                         PathEvent, StoredAdvance, StreamChanged)
from services.financing.domain.npec import NpecRow, Referential
from tests.unit.fake_transaction import FakeTransaction


@dataclass
class Tables:
    events: list[PathEvent] = field(default_factory=list)
    contracts: dict[str, ContractSummary] = field(default_factory=dict)
    years: list[FundingYear] = field(default_factory=list)
    advances: list[StoredAdvance] = field(default_factory=list)
    npec: dict[tuple, dict] = field(default_factory=dict)
    links: dict[tuple, dict] = field(default_factory=dict)
    fees: list[tuple[FeeRecord, datetime]] = field(default_factory=list)
    fee_events: list[tuple[str, str, dict, str]] = field(default_factory=list)   # stream, type, data, actor


class FakeProjectionWrites:
    def __init__(self, t: Tables):
        self.t = t

    async def add_events(self, events):
        seen = {e.event_id for e in self.t.events}
        for e in events:
            if e.event_id not in seen:
                self.t.events.append(e)
                seen.add(e.event_id)

    async def save_signed(self, summaries):
        self.t.contracts.update({s.contract_id: s for s in summaries})

    async def set_statuses(self, statuses):
        for cid, (status, version) in statuses.items():
            if cid in self.t.contracts and self.t.contracts[cid].version < version:
                self.t.contracts[cid] = replace(self.t.contracts[cid], status=status, version=version)

    async def replace_funding(self, apprentice_ids, years, advances):
        self.t.years = [y for y in self.t.years if y.apprentice_id not in apprentice_ids] + list(years)
        self.t.advances = [a for a in self.t.advances if a.apprentice_id not in apprentice_ids] + list(advances)


class FakeReads:
    def __init__(self, t: Tables):
        self.t = t

    async def apprentice_of(self, contract_id):
        return next((e.apprentice_id for e in self.t.events if e.contract_id == contract_id), None)

    async def path_events(self, apprentice_ids, recorded_until=None):
        out = defaultdict(list)
        for e in sorted(self.t.events, key=lambda e: e.apprentice_id):  # stable: arrival order kept
            if e.apprentice_id in apprentice_ids and (recorded_until is None or e.recorded_at <= recorded_until):
                out[e.apprentice_id].append({"type": e.type, "subject": e.contract_id, "data": e.data})
        return out

    def _signed(self):
        return [e for e in self.t.events if e.type == "contract.signed"]

    async def apprentices_signed_with(self, opco, recorded_until):
        return sorted({e.apprentice_id for e in self._signed() if e.recorded_at <= recorded_until
                       and e.data.get("opco") == opco})

    async def apprentices_certified_in(self, rncps):
        return sorted({e.apprentice_id for e in self._signed()
                       if rncp_of({"type": "contract.signed", "data": e.data}) in set(rncps)})

    async def funding_years(self, contract_id):
        return sorted((y for y in self.t.years if y.contract_id == contract_id), key=lambda y: y.funding_year)

    async def advances_of(self, contract_id):
        return sorted((a for a in self.t.advances if a.contract_id == contract_id),
                      key=lambda a: (a.funding_year, a.advance))

    async def due_totals(self, opco, start, end):
        sums: dict[tuple, Decimal] = defaultdict(Decimal)
        for a in self.t.advances:
            if a.opco == opco and start <= a.due_on <= end:
                sums[(a.due_on.strftime("%Y-%m"), a.cfa_uai, a.cfa_siret)] += a.amount
        return [DueTotal(m, uai, siret, amount) for (m, uai, siret), amount in sums.items()]

    async def fees_of(self, contract_id, recorded_until=None):
        return sorted((f for f, at in self.t.fees if f.contract_id == contract_id
                       and (recorded_until is None or at <= recorded_until)), key=lambda f: (f.day, f.kind))


class FakeReferential:
    def __init__(self, t: Tables):
        self.t, self.loads = t, 0

    async def load(self, rncps=None):
        self.loads += 1
        rows = [NpecRow(r["rncp"], r["cpne"], r["npec"], r["applicable_from"], r["file_date"])
                for r in self.t.npec.values() if rncps is None or r["rncp"] in rncps]
        by_idcc: dict[str, set[str]] = {}
        for link in self.t.links.values():
            by_idcc.setdefault(link["idcc"], set()).add(link["cpne"])
        return Referential(rows, by_idcc, {}, dict(seed_values()))

    async def add(self, npec, links):
        self.t.npec.update({(r["rncp"], r["cpne"], r["applicable_from"], r["file_date"]): r for r in npec})
        self.t.links.update({(r["cpne"], r["idcc"]): r for r in links})

    async def size(self):
        return len(self.t.npec)


class FakeFeeClaims:
    def __init__(self, t: Tables, uow: FakeUnitOfWork):
        self.t, self.uow, self.conflict = t, uow, False

    async def claimed(self, apprentice_id):
        return [(f.kind, f.day) for f, _ in self.t.fees if f.apprentice_id == apprentice_id]

    async def add(self, claim):
        for f, _ in self.t.fees:   # the unique indexes
            if f.apprentice_id == claim.apprentice_id and f.kind == claim.kind and (
                    claim.kind == "first_equipment" or f.day == claim.day):
                return False
        self.t.fees.append((claim, self.uow.now))
        return True

    async def record(self, apprentice_id, event_type, data, actor):
        if self.conflict:
            raise StreamChanged(f"fees-{apprentice_id}")
        self.t.fee_events.append((f"fees-{apprentice_id}", event_type, data, actor))


class FakeUnitOfWork(FakeTransaction):
    def __init__(self, tables: Tables | None = None):
        super().__init__(tables or Tables())
        self.now = datetime.now(timezone.utc)
        self.projection = FakeProjectionWrites(self.tables)
        self.reads = FakeReads(self.tables)
        self.referential = FakeReferential(self.tables)
        self.fee_claims = FakeFeeClaims(self.tables, self)
