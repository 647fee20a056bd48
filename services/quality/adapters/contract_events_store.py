"""The contract events the quality service received (``quality.contract_events``, keyed by event
id, in arrival order): written by the projection, folded for a CFA's analytics."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.quality_tables import contract_events
from services.quality.application.unit_of_work import ContractEvent
from shared.db import insert_many


class SqlContractEvents:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, events: list[ContractEvent]) -> None:
        """One statement whatever the batch; the table name honours the connection's
        ``schema_translate_map`` (the ops rebuild)."""
        rows = [dict(event_id=e.event_id, contract_id=e.contract_id, type=e.type, data=e.data, cfa=e.cfa,
                     recorded_at=e.recorded_at) for e in events]
        await insert_many(self.conn, contract_events, rows, on_conflict_do_nothing=True)

    async def of_cfa(self, cfa: str) -> list[dict[str, Any]]:
        ce = contract_events.c
        ids = select(ce.contract_id).where(ce.cfa == cfa, ce.type == "contract.signed")
        rows = await self.conn.execute(select(ce.contract_id, ce.type, ce.data).where(ce.contract_id.in_(ids))
                                       .order_by(ce.arrival))
        return [{"type": r.type, "subject": r.contract_id, "data": r.data} for r in rows]
