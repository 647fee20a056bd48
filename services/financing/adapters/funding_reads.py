"""The read side: the SQL of what the GET endpoints (and the handlers' computations) read, the
stored contract events of apprentice paths, the funding years and advances the projection
stored, the frais annexes claimed."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Collection

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.financing_tables import advances, contract_events, fees, lines
from services.financing.application.unit_of_work import DueTotal, FeeRecord, FundingYear, StoredAdvance
from shared.db import driver_connection, table_name

ce = contract_events.c


class SqlFundingReads:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def apprentice_of(self, contract_id: str) -> str | None:
        return await self.conn.scalar(select(ce.apprentice_id).where(ce.contract_id == contract_id).limit(1))

    async def path_events(self, apprentice_ids: Collection[str],
                          recorded_until: datetime | None = None) -> dict[str, list[dict]]:
        """The contract events of these apprentices' paths, in arrival order (one query, on the
        driver's connection: the projection reads them for every batch)."""
        sql = (f"SELECT apprentice_id, contract_id, type, data::text FROM {table_name(self.conn, contract_events)} "
               "WHERE apprentice_id = ANY($1::text[]) AND ($2::timestamptz IS NULL OR recorded_at <= $2) "
               "ORDER BY apprentice_id, arrival")
        rows = await (await driver_connection(self.conn)).fetch(sql, list(apprentice_ids), recorded_until)
        out: dict[str, list[dict]] = defaultdict(list)
        loads = orjson.loads
        for apprentice_id, contract_id, type_, data in rows:
            out[apprentice_id].append({"type": type_, "subject": contract_id, "data": loads(data)})
        return out

    async def apprentices_signed_with(self, opco: str, recorded_until: datetime) -> list[str]:
        q = select(ce.apprentice_id).where(and_(ce.type == "contract.signed", ce.recorded_at <= recorded_until,
                                                ce.data["opco"].astext == opco)).distinct()
        return [r[0] for r in await self.conn.execute(q)]

    async def apprentices_certified_in(self, rncps: Collection[str]) -> list[str]:
        q = select(ce.apprentice_id).where(ce.type == "contract.signed",
                                           func.coalesce(ce.data["training"]["certification"]["rncp"].astext,  # v2
                                                         ce.data["certification"]["rncp"].astext  # kept before v2
                                                         ).in_(list(rncps))).distinct()
        return [r[0] for r in await self.conn.execute(q)]

    async def funding_years(self, contract_id: str) -> list[FundingYear]:
        q = select(lines).where(lines.c.contract_id == contract_id).order_by(lines.c.funding_year)
        return [FundingYear(**r._mapping) for r in await self.conn.execute(q)]

    async def advances_of(self, contract_id: str) -> list[StoredAdvance]:
        a = advances.c
        q = select(advances).where(a.contract_id == contract_id).order_by(a.funding_year, a.advance)
        return [StoredAdvance(**r._mapping) for r in await self.conn.execute(q)]

    async def due_totals(self, opco: str, start: date, end: date) -> list[DueTotal]:
        """Sums per month of due date and CFA (UAI and SIRET, for the tenancy rule): one query."""
        a = advances.c
        month = func.to_char(a.due_on, "YYYY-MM")
        q = (select(month.label("month"), a.cfa_uai, a.cfa_siret, func.sum(a.amount).label("amount"))
             .where(a.opco == opco, a.due_on >= start, a.due_on <= end).group_by(month, a.cfa_uai, a.cfa_siret))
        return [DueTotal(r.month, r.cfa_uai, r.cfa_siret, r.amount) for r in await self.conn.execute(q)]

    async def fees_of(self, contract_id: str, recorded_until: datetime | None = None) -> list[FeeRecord]:
        f = fees.c
        q = (select(f.claim_id, f.apprentice_id, f.contract_id, f.opco, f.cfa_uai, f.kind, f.day, f.quantity,
                    f.amount, f.funding_year, f.advance).where(f.contract_id == contract_id).order_by(f.day, f.kind))
        if recorded_until is not None:
            q = q.where(f.recorded_at <= recorded_until)
        return [FeeRecord(**r._mapping) for r in await self.conn.execute(q)]
