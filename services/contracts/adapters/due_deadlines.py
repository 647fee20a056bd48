"""The deadlines past their last day (``contracts.deadlines``), read without holding them: the
scheduler raises each at its contract's version (application/scheduler.py)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import deadlines


class SqlDeadlines:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def due(self, today: date, limit: int) -> list[tuple[str, str]]:
        rows = await self.conn.execute(select(deadlines.c.contract_id, deadlines.c.kind)
                                       .where(deadlines.c.due_on < today).order_by(deadlines.c.due_on)
                                       .limit(limit))
        return [(r.contract_id, r.kind) for r in rows]
