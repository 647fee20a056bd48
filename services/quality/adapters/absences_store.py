"""Absences in PostgreSQL (``quality.absences``, keyed by CFA and ERP record id)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.quality_tables import absences
from services.quality.application.unit_of_work import Absence

CHUNK = 4000    # rows per INSERT (7 parameters each, under PostgreSQL's 32767)


def _absence(row) -> Absence:
    return Absence(row.erp_record_id, row.apprentice_id, row.grp, row.day, row.hours, row.justified)


def _filtered(cfa: str, start: date | None, end: date | None):
    q = select(absences).where(absences.c.cfa == cfa)
    if start:
        q = q.where(absences.c.day >= start)
    if end:
        q = q.where(absences.c.day <= end)
    return q


class SqlAbsences:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add_new(self, cfa: str, items: list[Absence]) -> list[str]:
        rows = [dict(cfa=cfa, erp_record_id=a.erp_record_id, apprentice_id=a.apprentice_id, grp=a.group, day=a.day,
                     hours=a.hours, justified=a.justified) for a in items]
        new: list[str] = []
        for i in range(0, len(rows), CHUNK):
            result = await self.conn.execute(insert(absences).values(rows[i:i + CHUNK]).on_conflict_do_nothing()
                                             .returning(absences.c.erp_record_id))
            new += [x[0] for x in result]
        return new

    async def listed(self, cfa: str, apprentice_id: str | None, start: date | None, end: date | None,
                     limit: int) -> list[Absence]:
        q = _filtered(cfa, start, end)
        if apprentice_id:
            q = q.where(absences.c.apprentice_id == apprentice_id)
        rows = await self.conn.execute(q.order_by(absences.c.day, absences.c.erp_record_id).limit(limit))
        return [_absence(r) for r in rows]

    async def of_cfa(self, cfa: str, start: date | None, end: date | None) -> list[Absence]:
        """In the table's order (no ORDER BY), as the dashboard has always read them."""
        return [_absence(r) for r in await self.conn.execute(_filtered(cfa, start, end))]
