"""The financing projection's batch writes: a few multi-row statements per batch whatever its
size (``INSERT ... SELECT FROM unnest``, ``DELETE ... USING unnest``; no per-event round trip).
Table names honour the connection's ``schema_translate_map`` (the ops rebuild writes elsewhere)."""
from __future__ import annotations

from typing import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.financing_tables import advances as advance_rows
from services.financing.adapters.financing_tables import contract_events, contracts, lines
from services.financing.application.unit_of_work import ContractSummary, FundingYear, PathEvent, StoredAdvance
from shared.db import delete_many, insert_many, table_name


def rows(items) -> list[dict]:
    """Dataclasses as rows (shallow: an event's data is not copied)."""
    return [dict(vars(item)) for item in items]


class SqlProjectionWrites:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add_events(self, events: list[PathEvent]) -> None:
        await insert_many(self.conn, contract_events, rows(events), on_conflict_do_nothing=True)

    async def save_signed(self, summaries: list[ContractSummary]) -> None:
        await insert_many(self.conn, contracts, rows(summaries), upsert_on=("contract_id",))

    async def set_statuses(self, statuses: dict[str, tuple[str, int]]) -> None:
        """One statement for every contract whose status changed in the batch."""
        if not statuses:
            return
        await self.conn.execute(text(
            f"UPDATE {table_name(self.conn, contracts)} c SET status = u.status, version = u.version "
            "FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:versions AS int[])) "
            "AS u(contract_id, status, version) WHERE c.contract_id = u.contract_id AND c.version < u.version"),
            {"ids": list(statuses), "statuses": [st for st, _ in statuses.values()],
             "versions": [v for _, v in statuses.values()]})

    async def replace_funding(self, apprentice_ids: Collection[str], years: list[FundingYear],
                              advances: list[StoredAdvance]) -> None:
        keys = [{"apprentice_id": a} for a in apprentice_ids]
        for table in (lines, advance_rows):
            await delete_many(self.conn, table, keys)
        await insert_many(self.conn, lines, rows(years))
        await insert_many(self.conn, advance_rows, rows(advances))
