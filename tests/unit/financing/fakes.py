"""In-memory stand-ins for the financing unit of work's ports (application/unit_of_work.py): the
same behaviour as the SQL adapters, on lists and dicts. A unit left without committing restores
what it found; a unit entered inside another joins it."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal

from contract_events.facts import rncp_of
from kernel.reference.tables import seed_values
from services.financing.application.unit_of_work import (AlreadyBilled, ContractSummary, DueTotal, FeeRecord,
                                                         FundingYear, LedgerEvent, PathEvent, StoredAdvance,
                                                         StreamChanged)
from services.financing.domain.billing import AdvanceNow, Invoice, Payment, Regularisation
from services.financing.domain.npec import NpecRow, Referential
from services.financing.domain.policy import SCHEDULES
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
    # the money loop (adapters/billing_store.py): its events in the financing store, the gap-free
    # document numbers, and the folded rows (billing_invoices, billing_lines, billing_payments,
    # billing_regularisations)
    money_events: list[MoneyEvent] = field(default_factory=list)
    document_numbers: dict[tuple[str, int], int] = field(default_factory=dict)     # (cfa_uai, year) -> last
    invoices: dict[str, InvoiceRow] = field(default_factory=dict)
    invoice_lines: list[LineRow] = field(default_factory=list)
    payments: dict[str, Payment] = field(default_factory=dict)
    regularisations: dict[str, Regularisation] = field(default_factory=dict)


@dataclass(frozen=True)
class MoneyEvent:
    """A row of the financing store's events table as billing writes it (metadata.ledger kept)."""
    event_id: str
    stream_id: str
    version: int
    type: str
    data: dict
    recorded_at: datetime
    position: int
    ledger: str
    actor: str

    def as_ledger_event(self) -> LedgerEvent:
        return LedgerEvent(self.event_id, self.stream_id, self.type, self.data, self.recorded_at, self.position)


@dataclass(frozen=True)
class InvoiceRow:
    """billing_invoices: the folded invoice and the position of its issue (the paging key)."""
    invoice: Invoice
    seq: int


@dataclass(frozen=True)
class LineRow:
    """billing_lines, with the unique partial indexes' columns."""
    invoice_id: str
    line_no: int
    kind: str
    contract_id: str
    funding_year: int | None
    advance: int | None
    claim_id: str | None
    regularisation_id: str | None
    amount: Decimal
    active: bool

    def unique_keys(self) -> list[tuple]:
        """The entries of billing_advance_once, billing_fee_once, billing_regularisation_once."""
        if not self.active:
            return []
        keys = []
        if self.kind == "advance":
            keys.append(("advance", self.contract_id, self.funding_year, self.advance))
        if self.claim_id is not None:
            keys.append(("claim", self.claim_id))
        if self.regularisation_id is not None:
            keys.append(("regularisation", self.regularisation_id))
        return keys


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


ATTESTATION_ADVANCE = len(SCHEDULES["R2025"])   # as adapters/billing_store.py
NOT_CHANGES = ("contract.signed", "contract.transmitted", "contract.deposited")


class FakeBilling:
    """adapters/billing_store.py SqlBilling on the Tables: numbers held until the unit commits
    (a rollback gives them back), the store's expected versions, the unique indexes of the rows."""

    def __init__(self, t: Tables, uow: FakeUnitOfWork):
        self.t, self.uow = t, uow

    # -- numbers and events -----------------------------------------------------------------------
    async def next_number(self, cfa_uai, year):
        last = self.t.document_numbers.get((cfa_uai, year), 0) + 1
        self.t.document_numbers[(cfa_uai, year)] = last
        return last

    def _version(self, stream_id: str) -> int:
        return sum(1 for e in self.t.money_events if e.stream_id == stream_id)

    async def append(self, appends, ledger, actor):
        if not any(events for _, _, events in appends):   # the store writes (and checks) nothing
            return []
        for stream, expected, _ in appends:                # all or nothing
            if self._version(stream) != expected:
                raise StreamChanged(stream)
        versions = [(stream, expected + i) for stream, expected, events in appends
                    for i in range(1, len(events) + 1)]
        for stream, version in versions:                   # the unique (stream_id, stream_version)
            if versions.count((stream, version)) > 1:
                raise StreamChanged(stream)
        out = []
        position = max((e.position for e in self.t.money_events), default=0)
        for stream, expected, events in appends:
            for i, (event_type, data) in enumerate(events, start=1):
                position += 1
                e = MoneyEvent(str(uuid.uuid4()), stream, expected + i, event_type, data, self.uow.now, position,
                               ledger, actor)
                self.t.money_events.append(e)
                out.append(e.as_ledger_event())
        return out

    async def stream(self, stream_id, recorded_until=None):
        return [e.as_ledger_event() for e in sorted(self.t.money_events, key=lambda e: e.version)
                if e.stream_id == stream_id and (recorded_until is None or e.recorded_at <= recorded_until)]

    async def streams(self, stream_ids):
        out: dict[str, list[LedgerEvent]] = {sid: [] for sid in stream_ids}
        for e in sorted(self.t.money_events, key=lambda e: (e.stream_id, e.version)):
            if e.stream_id in out:
                out[e.stream_id].append(e.as_ledger_event())
        return out

    async def ledger_events(self, ledgers, recorded_until=None):
        wanted = set(ledgers)
        return [e.as_ledger_event() for e in sorted(self.t.money_events, key=lambda e: e.position)
                if e.ledger in wanted and (recorded_until is None or e.recorded_at <= recorded_until)]

    async def ledgers(self, cfa, opco):
        found = set()
        for a in self.t.advances:
            if a.cfa_uai is not None and a.opco is not None and cfa in (None, a.cfa_uai, a.cfa_siret) \
                    and opco in (None, a.opco):
                found.add((a.cfa_uai, a.opco))
        for row in self.t.invoices.values():
            i = row.invoice
            if cfa in (None, i.cfa_uai, i.cfa_siret) and opco in (None, i.opco):
                found.add((i.cfa_uai, i.opco))
        for p in self.t.payments.values():
            if cfa in (None, p.cfa_uai) and opco in (None, p.opco):
                found.add((p.cfa_uai, p.opco))
        return sorted(found)

    # -- what billing reads of the funding projection --------------------------------------------
    def _advances(self):
        """The advances joined to their funding year (an advance without one is not read)."""
        regimes = {(y.contract_id, y.funding_year): y.regime for y in self.t.years}
        for a in self.t.advances:
            regime = regimes.get((a.contract_id, a.funding_year))
            if regime is not None:
                yield AdvanceNow(a.contract_id, a.funding_year, a.advance, a.opco, a.cfa_uai, a.cfa_siret, a.amount,
                                 a.due_on, a.latest_on, regime == "R2025" and a.advance == ATTESTATION_ADVANCE,
                                 a.employer_contribution)

    async def advances_at(self, keys):
        wanted = set(keys)
        return {a.key: a for a in self._advances() if a.key in wanted}

    async def advances_of(self, ledgers):
        wanted = set(ledgers)
        return sorted((a for a in self._advances() if (a.cfa_uai, a.opco) in wanted),
                      key=lambda a: (a.due_on, a.contract_id, a.funding_year, a.advance))

    async def overshot(self, accounts):
        """As the SQL: active advance lines above the advance now, net of their invoice's regularisations."""
        now = {(a.contract_id, a.funding_year, a.advance): a.amount for a in self.t.advances}
        out = []
        for line in self.t.invoice_lines:
            if line.kind != "advance" or not line.active or line.invoice_id not in self.t.invoices:   # the JOIN
                continue
            inv = self.t.invoices[line.invoice_id].invoice
            if accounts is not None and (inv.cfa_uai, inv.opco) not in set(accounts):
                continue
            key = (line.contract_id, line.funding_year, line.advance)
            netted = sum((r.amount for r in self.t.regularisations.values() if r.invoice_id == line.invoice_id
                          and (r.contract_id, r.funding_year, r.advance) == key), Decimal(0))
            if line.amount - netted > now.get(key, Decimal(0)):
                out.append((key, inv.cfa_uai, inv.opco))
        return out

    async def fees_on(self, keys):
        wanted = set(keys)
        return sorted((f for f, _ in self.t.fees if (f.contract_id, f.funding_year, f.advance) in wanted),
                      key=lambda f: (f.day, f.kind))

    async def changes_since(self, contract_ids, since):
        out = []
        for e in self.t.events:   # arrival order
            if e.contract_id in contract_ids and e.recorded_at > since and e.type not in NOT_CHANGES:
                on = next((v for k, v in e.data.items() if k.endswith("_on") and isinstance(v, str)), None)
                out.append({"event_id": str(e.event_id), "type": e.type, "contract_id": e.contract_id, "on": on})
        return out

    # -- the folded states, kept as rows ----------------------------------------------------------
    async def save(self, invoices=(), payments=(), regularisations=()):
        if invoices:
            for inv, seq in invoices:
                if any(row.invoice.number == inv.number and other != inv.invoice_id
                       for other, row in self.t.invoices.items()):
                    raise ValueError(f"billing_invoices.number is unique: {inv.number} twice")
                self.t.invoices[inv.invoice_id] = InvoiceRow(inv, seq)
            ids = {inv.invoice_id for inv, _ in invoices}
            self.t.invoice_lines = [l for l in self.t.invoice_lines if l.invoice_id not in ids]
            new = [LineRow(inv.invoice_id, n, l.kind, l.contract_id, l.funding_year, l.advance, l.claim_id,
                           l.regularisation_id, l.amount, inv.active)
                   for inv, _ in invoices for n, l in enumerate(inv.lines, start=1)]
            taken = {k for l in self.t.invoice_lines for k in l.unique_keys()}
            for line in new:                                 # the savepoint: all the lines or none
                for k in line.unique_keys():
                    if k in taken:
                        raise AlreadyBilled("line")
                    taken.add(k)
            self.t.invoice_lines += new
        if payments:
            batch: dict[str, Payment] = {}
            for p in payments:
                rows = {**self.t.payments, **batch}
                if any(o.opco == p.opco and o.bank_reference == p.bank_reference and pid != p.payment_id
                       for pid, o in rows.items()):
                    raise AlreadyBilled("payment")
                batch[p.payment_id] = p
            self.t.payments.update(batch)
        for r in regularisations:
            self.t.regularisations[r.regularisation_id] = r

    async def set_numbers(self, last):
        for key, n in last.items():
            self.t.document_numbers[key] = max(self.t.document_numbers.get(key, n), n)

    async def payment_with_reference(self, opco, bank_reference):
        return next((p.payment_id for p in self.t.payments.values()
                     if p.opco == opco and p.bank_reference == bank_reference), None)

    async def invoice_documents(self, *, cfa, opco, status, cfa_uai, issued_from, issued_to, after_seq, limit):
        rows = []
        for row in self.t.invoices.values():
            i = row.invoice
            if row.seq > after_seq and cfa in (None, i.cfa_uai, i.cfa_siret) and opco in (None, i.opco) \
                    and status in (None, i.status) and cfa_uai in (None, i.cfa_uai) \
                    and (issued_from is None or i.issued_on >= issued_from) \
                    and (issued_to is None or i.issued_on <= issued_to):
                rows.append((row.seq, i.as_dict()))
        return sorted(rows, key=lambda r: r[0])[:limit]


class FakeUnitOfWork(FakeTransaction):
    def __init__(self, tables: Tables | None = None):
        super().__init__(tables or Tables())
        self.now = datetime.now(timezone.utc)
        self.projection = FakeProjectionWrites(self.tables)
        self.reads = FakeReads(self.tables)
        self.referential = FakeReferential(self.tables)
        self.fee_claims = FakeFeeClaims(self.tables, self)
        self.billing = FakeBilling(self.tables, self)
