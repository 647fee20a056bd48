"""In-memory stand-ins for the quality unit of work's ports (application/unit_of_work.py): the
same behaviour as the SQL adapters, on lists and dicts. Records come back with jsonb's key
order, absences with numeric(5, 2) hours; a unit left without committing restores what it
found; a unit entered inside another joins it."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from services.quality.application.unit_of_work import Absence, ContractEvent, QualityRecord, StreamChanged
from shared.auth import Principal
from tests.unit.fake_transaction import FakeTransaction


def jsonb(value):
    """A JSON value as PostgreSQL's jsonb gives it back: object keys by length, then bytes."""
    if isinstance(value, dict):
        return {k: jsonb(value[k]) for k in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb(v) for v in value]
    return value


@dataclass
class StoredEvent:
    stream: str
    version: int
    type: str
    data: dict
    metadata: dict


@dataclass
class Tables:
    records: dict[str, QualityRecord] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    absences: dict[tuple[str, str], Absence] = field(default_factory=dict)      # (cfa, ERP id), table order
    contract_events: list[ContractEvent] = field(default_factory=list)         # arrival order
    sessions: dict[str, tuple[str, datetime]] = field(default_factory=dict)    # hash -> key id, expiry
    keys: dict[str, Principal] = field(default_factory=dict)                   # raw key -> its principal
    revoked: set[str] = field(default_factory=set)                             # key ids
    webhooks: dict[str, list] = field(default_factory=dict)                   # CFA -> its EndpointHealth


def _in(day, start, end) -> bool:
    return (not start or day >= start) and (not end or day <= end)


class FakeRecords:
    def __init__(self, t: Tables):
        self.t = t

    async def get(self, cfa, kind, record_id, *, lock=False):
        row = self.t.records.get(record_id)
        return row if row and row.cfa == cfa and row.kind == kind else None

    async def page(self, cfa, kind, status, start, end, after, limit):
        rows = sorted((x for x in self.t.records.values() if x.cfa == cfa and x.kind == kind
                       and (not status or x.status == status) and _in(x.occurred_on, start, end)
                       and (not after or (x.occurred_on, x.record_id) > after)),
                      key=lambda x: (x.occurred_on, x.record_id))
        return rows[:limit]

    async def of_cfa(self, cfa, start, end):
        return sorted((x for x in self.t.records.values() if x.cfa == cfa and _in(x.occurred_on, start, end)),
                      key=lambda x: (x.occurred_on, x.record_id))

    async def add(self, record):
        assert record.record_id not in self.t.records
        stored = replace(record, data=jsonb(copy.deepcopy(record.data)), history=jsonb(copy.deepcopy(record.history)))
        self.t.records[record.record_id] = stored
        return stored

    async def update(self, record_id, status, history, version):
        stored = replace(self.t.records[record_id], status=status, history=jsonb(copy.deepcopy(history)),
                         version=version)
        self.t.records[record_id] = stored
        return stored


class FakeEvents:
    def __init__(self, t: Tables):
        self.t, self.moved = t, False   # moved: another writer appended meanwhile

    def version(self, stream: str) -> int:
        return max((e.version for e in self.t.events if e.stream == stream), default=0)

    async def append(self, cfa, actor, events):
        if self.moved or any(self.version(e.stream) != e.expected_version for e in events):
            raise StreamChanged(events[0].stream)
        self.t.events += [StoredEvent(e.stream, e.expected_version + 1, e.type, copy.deepcopy(e.data),
                                      {"partitionkey": cfa, "actor": actor}) for e in events]

    def of(self, stream: str) -> list[StoredEvent]:
        return [e for e in self.t.events if e.stream == stream]


class FakeAbsences:
    def __init__(self, t: Tables):
        self.t = t

    async def add_new(self, cfa, absences):
        new = []
        for a in absences:
            if (cfa, a.erp_record_id) not in self.t.absences:
                self.t.absences[(cfa, a.erp_record_id)] = replace(a, hours=Decimal(a.hours).quantize(Decimal("0.01")))
                new.append(a.erp_record_id)
        return new

    def _of(self, cfa, start, end):
        return [a for (c, _), a in self.t.absences.items() if c == cfa and _in(a.day, start, end)]

    async def listed(self, cfa, apprentice_id, start, end, limit):
        rows = [a for a in self._of(cfa, start, end) if not apprentice_id or a.apprentice_id == apprentice_id]
        return sorted(rows, key=lambda a: (a.day, a.erp_record_id))[:limit]

    async def of_cfa(self, cfa, start, end):
        return self._of(cfa, start, end)


class FakeContractEvents:
    def __init__(self, t: Tables):
        self.t = t

    async def add(self, events):
        seen = {e.event_id for e in self.t.contract_events}
        for e in events:
            if e.event_id not in seen:
                self.t.contract_events.append(e)
                seen.add(e.event_id)

    async def of_cfa(self, cfa):
        ids = {e.contract_id for e in self.t.contract_events if e.cfa == cfa and e.type == "contract.signed"}
        return [{"type": e.type, "subject": e.contract_id, "data": e.data}
                for e in self.t.contract_events if e.contract_id in ids]


class FakeSessions:
    def __init__(self, t: Tables):
        self.t = t

    async def key_principal(self, raw_key):
        principal = self.t.keys.get(raw_key)
        return principal if principal and principal.key_id not in self.t.revoked else None

    async def open(self, session_hash, key_id, expires_at):
        self.t.sessions[session_hash] = (key_id, expires_at)

    async def principal(self, session_hash, now):
        key_id, expires_at = self.t.sessions.get(session_hash, (None, now))
        if key_id is None or expires_at <= now or key_id in self.t.revoked:
            return None
        return next(p for p in self.t.keys.values() if p.key_id == key_id)

    async def close(self, session_hash):
        self.t.sessions.pop(session_hash, None)


class FakeWebhookHealth:
    def __init__(self, t: Tables):
        self.t = t

    async def of_cfa(self, cfa: str) -> list:
        return sorted(self.t.webhooks.get(cfa, []), key=lambda w: w.url)


class FakeUnitOfWork(FakeTransaction):
    def __init__(self, tables: Tables | None = None):
        super().__init__(tables or Tables())
        self.records = FakeRecords(self.tables)
        self.events = FakeEvents(self.tables)
        self.absences = FakeAbsences(self.tables)
        self.contract_events = FakeContractEvents(self.tables)
        self.sessions = FakeSessions(self.tables)
        self.webhooks = FakeWebhookHealth(self.tables)
