"""In-memory stand-ins for the contracts unit of work's ports (application/unit_of_work.py): the
same behaviour as the SQL adapters, on lists and dicts. A unit left without committing restores
what it found; a unit entered inside another joins it."""
from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Awaitable, Callable

from contract_events.catalogue import VERSIONS
from contract_events.upcasting import upcast
from services.contracts.application.unit_of_work import Change, ContractView, ListFilters, StreamChanged
from services.contracts.domain.deadlines import deadlines as running_deadlines
from services.contracts.domain.rules import NOT_LIVE_STATUSES
from services.contracts.domain.state import ContractState, apply, fold
from shared.api.idempotency import Outcome
from shared.auth import Principal
from shared.eventstore.model import RecordedEvent
from kernel.access import can_see
from tests.unit.fake_transaction import FakeIdempotency, FakeTransaction


class ApprenticeLocks(dict):
    """apprentice id -> asyncio.Lock, the SQL adapter's advisory locks: shared by every unit over
    the same tables, never copied nor restored with them."""

    def __deepcopy__(self, memo):
        return self


@dataclass
class Tables:
    streams: dict[str, list[RecordedEvent]] = field(default_factory=dict)
    views: dict[str, ContractView] = field(default_factory=dict)
    deadlines: dict[tuple[str, str], date] = field(default_factory=dict)         # (contract, kind) -> due on
    answers: dict[tuple[str, str], tuple[str, Outcome]] = field(default_factory=dict)  # (key id, key) -> (hash, outcome)
    position: int = 0
    apprentice_locks: ApprenticeLocks = field(default_factory=ApprenticeLocks)


class FakeContractStreams:
    def __init__(self, t: Tables):
        self.t = t
        self.meanwhile: list[Callable[[], Awaitable[None]]] = []   # other writers, one before each record

    async def load(self, contract_id):
        events = self.t.streams.get(contract_id)
        return fold(contract_id, ((e.type, upcast(e.type, e.schema_version, e.data)) for e in events)) \
            if events else None

    async def record(self, changes: list[Change], actor, *, last: bool = False):
        if self.meanwhile:
            await self.meanwhile.pop(0)()
        for state, _ in changes:       # all or nothing, like the append function
            if len(self.t.streams.get(state.contract_id, [])) != state.version:
                raise StreamChanged(state.contract_id)
        for state, evts in changes:
            key = state.apprentice_id if state.terms else evts[0][1]["apprentice"]["id"]
            stream = self.t.streams.setdefault(state.contract_id, [])
            for event_type, data in evts:
                self.t.position += 1
                stream.append(RecordedEvent(self.t.position, self.t.position, state.contract_id, len(stream) + 1,
                                            uuid.uuid4(), event_type, VERSIONS[event_type], copy.deepcopy(data),
                                            {"partitionkey": key, "actor": actor}, datetime.now(timezone.utc)))
        for state, evts in changes:
            for event_type, data in evts:
                apply(state, event_type, data)
            await self.save(state)

    async def save(self, state: ContractState):
        self.t.views[state.contract_id] = ContractView.of(copy.deepcopy(state))
        for kind, due_on in running_deadlines(state).items():
            if due_on is None:
                self.t.deadlines.pop((state.contract_id, kind), None)
            else:
                self.t.deadlines[(state.contract_id, kind)] = due_on

    async def events(self, contract_id):
        return list(self.t.streams.get(contract_id, []))


class FakeContractViews:
    def __init__(self, t: Tables, held: list[asyncio.Lock] | None = None):
        self.t, self.held = t, held if held is not None else []

    async def get(self, contract_id):
        return self.t.views.get(contract_id)

    async def page(self, principal: Principal, f: ListFilters, after, limit):
        def kept(v: ContractView) -> bool:
            return (can_see(principal, v.cfa_uai, v.cfa_siret, v.opco)
                    and f.status in (None, v.status) and f.opco in (None, v.opco)
                    and f.cfa in (None, v.cfa_uai, v.cfa_siret)
                    and (f.signed_from is None or v.signed_on >= f.signed_from)
                    and (f.signed_to is None or v.signed_on <= f.signed_to)
                    and (after is None or (v.signed_on, v.contract_id) > after))
        return sorted(filter(kept, self.t.views.values()), key=lambda v: (v.signed_on, v.contract_id))[:limit]

    async def live_for_apprentice(self, apprentice_id, *, hold: bool = True):   # always held
        lock = self.t.apprentice_locks.setdefault(apprentice_id, asyncio.Lock())
        if lock not in self.held:      # held until the unit ends (FakeUnitOfWork.__aexit__)
            await lock.acquire()
            self.held.append(lock)
        live = [v for v in self.t.views.values()
                if v.apprentice_id == apprentice_id and v.status not in NOT_LIVE_STATUSES]
        return sorted(live, key=lambda v: (v.start_date, v.contract_id))

    async def live_for_masters(self, master_ids, *, hold: bool = True):
        for m in sorted(set(master_ids)):
            lock = self.t.apprentice_locks.setdefault(("master", m), asyncio.Lock())
            if lock not in self.held:
                await lock.acquire()
                self.held.append(lock)
        views = sorted(self.t.views.values(), key=lambda v: (v.start_date, v.contract_id))
        return {m: [v.state for v in views if v.status not in NOT_LIVE_STATUSES
                    and m in ContractState.from_dict(v.state).master_ids] for m in set(master_ids)}

    async def deca_candidates(self, principal, start_dates, opco):
        starts = set(start_dates)
        return sorted((v for v in self.t.views.values()
                       if can_see(principal, v.cfa_uai, v.cfa_siret, v.opco) and opco in (None, v.opco)
                       and (v.state.get("deposit_number") is not None or v.start_date in starts)),
                      key=lambda v: v.contract_id)

    async def deposited(self, principal, offset, limit):
        rows = sorted((v for v in self.t.views.values()
                       if can_see(principal, v.cfa_uai, v.cfa_siret, v.opco) and v.state.get("deposit_number") is not None),
                      key=lambda v: (v.state["deposit_number"], v.contract_id))
        return rows[offset:offset + limit], len(rows)


class FakeSecrets:
    KEY = b"unit-test pseudonymisation key, 32"

    async def pseudonym_key(self):
        return self.KEY


class FakeDeadlines:
    def __init__(self, t: Tables):
        self.t = t

    async def due(self, today, limit):
        due = sorted((on, key) for key, on in self.t.deadlines.items() if on < today)
        return [key for _, key in due][:limit]


class FakeUnitOfWork(FakeTransaction):
    def __init__(self, tables: Tables | None = None):
        super().__init__(tables or Tables())
        self.held: list[asyncio.Lock] = []
        self.contracts = FakeContractStreams(self.tables)
        self.views = FakeContractViews(self.tables, self.held)
        self.deadlines = FakeDeadlines(self.tables)
        self.idempotency = FakeIdempotency(self.tables)
        self.secrets = FakeSecrets()

    async def __aexit__(self, *exc):
        await super().__aexit__(*exc)
        if self._depth == 0:           # the unit's transaction ends: its apprentices are let go
            while self.held:
                self.held.pop().release()
