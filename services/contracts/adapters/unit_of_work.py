"""The contracts repository inside one PostgreSQL transaction: the stream, the read model and
the deadlines change together."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import SCHEMA, contracts, deadlines
from services.contracts.domain.lifecycle import deadlines as running_deadlines
from services.contracts.domain.state import ContractState, apply, fold
from shared.db import delete_many, insert_many
from shared.eventstore.model import NewEvent, StreamAppend
from shared.eventstore.store import EventStore
from shared.observability import EVENTS_APPENDED

store = EventStore(SCHEMA)


class ContractsUnitOfWork:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def load(self, contract_id: str) -> ContractState | None:
        events = await store.read_stream(self.conn, contract_id)
        if not events:
            return None
        return fold(contract_id, ((e.type, e.data) for e in events))

    async def record(self, changes: list[tuple[ContractState, list[tuple[str, dict]]]], actor: str) -> None:
        """Append each state's new events (at its loaded version), in one transaction, then
        refresh the read model and the deadlines of every state."""
        appends = []
        for state, evts in changes:
            key = state.terms["apprentice"]["id"] if state.terms else evts[0][1]["apprentice"]["id"]
            appends.append(StreamAppend(state.contract_id, state.version, [
                NewEvent(t, d, metadata={"partitionkey": key, "actor": actor}) for t, d in evts]))
        recorded = await store.append(self.conn, appends)
        EVENTS_APPENDED.labels(SCHEMA).inc(len(recorded))
        for state, evts in changes:
            for t, d in evts:
                apply(state, t, d)
            await self.save(state)

    async def save(self, state: ContractState) -> None:
        await save_views(self.conn, [state])


def view_row(state: ContractState) -> dict:
    """The read-model row of one contract."""
    t = state.terms
    return dict(contract_id=state.contract_id, apprentice_id=state.apprentice_id, cfa_uai=t["cfa"]["uai"],
                cfa_siret=t["cfa"].get("siret"), opco=t.get("opco"), status=state.status,
                version=state.version, signed_on=date.fromisoformat(t["signed_on"]),
                start_date=date.fromisoformat(t["start_date"]),
                planned_end_date=date.fromisoformat(t["planned_end_date"]), state=state.as_dict())


async def save_views(conn: AsyncConnection, states: list[ContractState]) -> None:
    """Refresh the read model and the running deadlines of these contracts (a few multi-row
    statements whatever their number: one command saves one or two, a bulk import thousands)."""
    if not states:
        return
    await insert_many(conn, contracts, [view_row(s) for s in states], upsert_on=("contract_id",))
    gone, live = [], []
    for state in states:
        for kind, due_on in running_deadlines(state).items():
            if due_on is None:
                gone.append(dict(contract_id=state.contract_id, kind=kind))
            else:
                live.append(dict(contract_id=state.contract_id, kind=kind, due_on=due_on))
    await delete_many(conn, deadlines, gone)
    await insert_many(conn, deadlines, live, upsert_on=("contract_id", "kind"))


async def read_view(conn: AsyncConnection, contract_id: str):
    return (await conn.execute(select(contracts).where(contracts.c.contract_id == contract_id))).first()


async def due_deadlines(conn: AsyncConnection, today: date, limit: int = 200):
    """Deadlines past their last day, locked for this scheduler (others skip them)."""
    rows = await conn.execute(select(deadlines.c.contract_id, deadlines.c.kind)
                              .where(deadlines.c.due_on < today).order_by(deadlines.c.due_on)
                              .limit(limit).with_for_update(skip_locked=True))
    return rows.all()
