"""Contract streams in the contracts event store (``contracts.events``): load one by folding it,
append to several at their loaded versions in one call, and refresh their views with them."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from contract_events.catalogue import VERSIONS
from contract_events.upcasting import upcast
from services.contracts.adapters.tables import SCHEMA
from services.contracts.adapters.view_writes import save_views, view_writes
from services.contracts.adapters.contract_listing import UnheldReads
from services.contracts.application.unit_of_work import Change, LiveChanged, StreamChanged
from services.contracts.domain.state import ContractState, apply, fold
from shared.eventstore.model import ConcurrencyConflict, NewEvent, RecordedEvent, StreamAppend
from shared.eventstore.store import EventStore, GuardFailed
from shared.observability import EVENTS_APPENDED

store = EventStore(SCHEMA)


class SqlContractStreams:
    def __init__(self, conn: AsyncConnection, unheld: UnheldReads | None = None):
        self.conn = conn
        self.unheld = unheld if unheld is not None else UnheldReads()

    async def load(self, contract_id: str) -> ContractState | None:
        """The contract folded from its stream, read in the unit's transaction if one is open,
        else without beginning one (EventStore.load_stream): ``record`` appends at its version."""
        events = await store.load_stream(self.conn, contract_id)
        if not events:
            return None
        return fold(contract_id, ((e.type, upcast(e.type, e.schema_version, e.data)) for e in events))

    async def record(self, changes: list[Change], actor: str, *, last: bool = False) -> None:
        """Append each state's new events (at its loaded version) and refresh the read model and
        the deadlines of every state, in one statement (the views are the append's ``then``:
        written only when no stream is stale); then apply the events to the states (left as
        they were on StreamChanged or LiveChanged). The live contracts this unit read without
        holding them are the append's guard (UnheldReads: LiveChanged when they changed).
        ``last``: with no transaction open, the statement is its own (written at once)."""
        appends, after = [], []
        for state, evts in changes:
            key = state.apprentice_id if state.terms else evts[0][1]["apprentice"]["id"]
            appends.append(StreamAppend(state.contract_id, state.version, [
                NewEvent(t, d, schema_version=VERSIONS[t], metadata={"partitionkey": key, "actor": actor})
                for t, d in evts]))
            new = object.__new__(ContractState)   # a shallow copy (copy.copy's reduce costs ~20 us):
            vars(new).update(vars(state))         # apply replaces attributes, never changes them in place
            for t, d in evts:
                apply(new, t, d)
            after.append(new)
        guard = self.unheld.guard()
        self.unheld.clear()   # guarded once: a later attempt reads again
        try:
            recorded = await store.append(self.conn, appends, then=view_writes(self.conn, after), guard=guard,
                                          outside=last)
        except ConcurrencyConflict as exc:
            raise StreamChanged(exc.stream_id) from None
        except GuardFailed:
            raise LiveChanged() from None
        EVENTS_APPENDED.labels(SCHEMA).inc(len(recorded))
        for (state, _), new in zip(changes, after):
            vars(state).update(vars(new))

    async def save(self, state: ContractState) -> None:
        await save_views(self.conn, [state])

    async def events(self, contract_id: str) -> list[RecordedEvent]:
        return await store.read_stream(self.conn, contract_id)
