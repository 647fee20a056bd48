"""Unit of work of the contracts service: one PostgreSQL transaction around a command, with
the event store and the read model."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contracts.adapters.tables import SCHEMA, contracts
from services.contracts.domain.state import ContractState, fold
from shared.eventstore.model import StreamAppend
from shared.eventstore.store import EventStore

store = EventStore(SCHEMA)


class ContractsUnitOfWork:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.conn: AsyncConnection | None = None
        self.recorded = []

    async def __aenter__(self):
        self._ctx = self.engine.begin()
        self.conn = await self._ctx.__aenter__()
        return self

    async def __aexit__(self, *exc):
        return await self._ctx.__aexit__(*exc)

    async def load(self, contract_id: str) -> ContractState | None:
        events = await store.read_stream(self.conn, contract_id)
        if not events:
            return None
        return fold(contract_id, ((e.type, e.data) for e in events))

    async def append(self, appends: list[StreamAppend]) -> None:
        self.recorded += await store.append(self.conn, appends)

    async def save_view(self, state: ContractState) -> None:
        t = state.terms
        row = dict(contract_id=state.contract_id, apprentice_id=state.apprentice_id, cfa_uai=t["cfa"]["uai"],
                   cfa_siret=t["cfa"].get("siret"), opco=t.get("opco"), status=state.status,
                   version=state.version, signed_on=date.fromisoformat(t["signed_on"]),
                   start_date=date.fromisoformat(t["start_date"]),
                   planned_end_date=date.fromisoformat(t["planned_end_date"]), state=state.as_dict())
        stmt = insert(contracts).values(row)
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[contracts.c.contract_id],
            set_={k: stmt.excluded[k] for k in row if k != "contract_id"}))


async def read_view(conn: AsyncConnection, contract_id: str):
    return (await conn.execute(select(contracts).where(contracts.c.contract_id == contract_id))).first()
