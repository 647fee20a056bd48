"""Frais annexes claims: the fees table (one a day and kind, first equipment once a path, by
unique indexes) and the ``fees-<apprentice>`` streams of the financing event store."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.financing_tables import SCHEMA, fees
from services.financing.application.unit_of_work import FeeRecord, StreamChanged
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import EventStore

store = EventStore(SCHEMA)


class SqlFeeClaims:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def claimed(self, apprentice_id: str) -> list[tuple[str, date]]:
        q = select(fees.c.kind, fees.c.day).where(fees.c.apprentice_id == apprentice_id)
        return [(r.kind, r.day) for r in await self.conn.execute(q)]

    async def add(self, claim: FeeRecord) -> bool:
        """False when a concurrent claim took the same day and kind (the unique index said so)."""
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(fees.insert().values(
                    claim_id=claim.claim_id, apprentice_id=claim.apprentice_id, contract_id=claim.contract_id,
                    opco=claim.opco, cfa_uai=claim.cfa_uai, kind=claim.kind, day=claim.day,
                    quantity=claim.quantity, amount=claim.amount, funding_year=claim.funding_year,
                    advance=claim.advance))
        except IntegrityError:
            return False
        return True

    async def record(self, apprentice_id: str, event_type: str, data: dict, actor: str) -> None:
        stream = f"fees-{apprentice_id}"
        version = await store.stream_version(self.conn, stream)
        try:
            await store.append(self.conn, [StreamAppend(stream, version, [
                NewEvent(event_type, data, metadata={"partitionkey": apprentice_id, "actor": actor})])])
        except ConcurrencyConflict:
            raise StreamChanged(stream) from None
