"""Records in PostgreSQL: the ``quality.records`` table, and the record and absence streams of
the quality event store (appended in the unit's transaction)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.quality_tables import SCHEMA, records
from services.quality.application.unit_of_work import QualityRecord, StreamChanged, StreamEvent
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import EventStore

store = EventStore(SCHEMA)


def _record(row) -> QualityRecord:
    return QualityRecord(row.record_id, row.cfa, row.kind, row.status, row.occurred_on, row.data, row.history,
                         row.version)


def _period(q, column, start: date | None, end: date | None):
    if start:
        q = q.where(column >= start)
    if end:
        q = q.where(column <= end)
    return q


class SqlQualityRecords:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def get(self, cfa: str, kind: str, record_id: str, *, lock: bool = False) -> QualityRecord | None:
        q = select(records).where(records.c.record_id == record_id, records.c.kind == kind, records.c.cfa == cfa)
        row = (await self.conn.execute(q.with_for_update() if lock else q)).first()
        return _record(row) if row else None

    async def page(self, cfa: str, kind: str, status: str | None, start: date | None, end: date | None,
                   after: tuple[date, str] | None, limit: int) -> list[QualityRecord]:
        c = records.c
        q = select(records).where(c.cfa == cfa, c.kind == kind)
        if status:
            q = q.where(c.status == status)
        q = _period(q, c.occurred_on, start, end)
        if after:
            q = q.where(tuple_(c.occurred_on, c.record_id) > tuple_(*after))
        return [_record(r) for r in await self.conn.execute(q.order_by(c.occurred_on, c.record_id).limit(limit))]

    async def of_cfa(self, cfa: str, start: date | None, end: date | None) -> list[QualityRecord]:
        q = _period(select(records).where(records.c.cfa == cfa), records.c.occurred_on, start, end)
        return [_record(r) for r in await self.conn.execute(q.order_by(records.c.occurred_on, records.c.record_id))]

    async def add(self, record: QualityRecord) -> QualityRecord:
        row = (await self.conn.execute(insert(records).values(
            record_id=record.record_id, cfa=record.cfa, kind=record.kind, status=record.status,
            occurred_on=record.occurred_on, data=record.data, history=record.history, version=record.version)
            .returning(*records.c))).first()
        return _record(row)

    async def update(self, record_id: str, status: str, history: list[dict], version: int) -> QualityRecord:
        row = (await self.conn.execute(records.update().where(records.c.record_id == record_id).values(
            status=status, history=history, version=version).returning(*records.c))).first()
        return _record(row)


class SqlQualityEvents:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def append(self, cfa: str, actor: str, events: list[StreamEvent]) -> None:
        try:
            await store.append(self.conn, [StreamAppend(e.stream, e.expected_version, [NewEvent(
                e.type, e.data, metadata={"partitionkey": cfa, "actor": actor})]) for e in events])
        except ConcurrencyConflict as moved:
            raise StreamChanged(str(moved)) from None
