"""The stored NPEC referential (France compétences) and the valeurs d'amorçage."""
from __future__ import annotations

from typing import Collection, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.reference.tables import seed_values
from services.financing.adapters.financing_tables import cpne_idcc, npec_rows
from services.financing.domain.npec import NpecRow, Referential
from shared.db import MAX_BIND_PARAMETERS, driver_connection, table_name


async def load_referential(conn: AsyncConnection, rncps: Collection[str] | None = None) -> Referential:
    """The referential, limited to some RNCP codes when given (one query each table). On the
    driver's connection, in ``conn``'s transaction: the projection reads it for every batch."""
    apg = await driver_connection(conn)
    rows = f"SELECT rncp, cpne, npec, applicable_from, file_date FROM {table_name(conn, npec_rows)}"
    found = await (apg.fetch(rows) if rncps is None else apg.fetch(rows + " WHERE rncp = ANY($1::text[])", list(rncps)))
    return referential_of(found, await apg.fetch(f"SELECT cpne, idcc FROM {table_name(conn, cpne_idcc)}"))


def referential_of(rows: Iterable[Sequence], links: Iterable[Sequence]) -> Referential:
    """The referential from its rows as read: (rncp, cpne, npec, applicable_from, file_date) and
    (cpne, idcc) links."""
    by_idcc: dict[str, set[str]] = {}
    for cpne, idcc in links:
        by_idcc.setdefault(idcc, set()).add(cpne)
    return Referential([NpecRow(*r) for r in rows], by_idcc, {}, dict(seed_values()))


class SqlReferentialStore:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def load(self, rncps: Collection[str] | None = None) -> Referential:
        return await load_referential(self.conn, rncps)

    async def add(self, npec: list[dict], links: list[dict]) -> None:
        """Upserts, as few statements as the bind parameter limit allows."""
        chunk = MAX_BIND_PARAMETERS // 7
        for i in range(0, len(npec), chunk):
            stmt = insert(npec_rows).values(npec[i:i + chunk])
            await self.conn.execute(stmt.on_conflict_do_update(
                index_elements=[npec_rows.c.rncp, npec_rows.c.cpne, npec_rows.c.applicable_from,
                                npec_rows.c.file_date],
                set_={"npec": stmt.excluded.npec, "label": stmt.excluded.label, "status": stmt.excluded.status}))
        chunk = MAX_BIND_PARAMETERS // 3
        for i in range(0, len(links), chunk):
            stmt = insert(cpne_idcc).values(links[i:i + chunk])
            await self.conn.execute(stmt.on_conflict_do_update(index_elements=[cpne_idcc.c.cpne, cpne_idcc.c.idcc],
                                                               set_={"file_date": stmt.excluded.file_date}))

    async def size(self) -> int:
        return await self.conn.scalar(select(func.count()).select_from(npec_rows))
