"""The stored NPEC referential (France compétences) and the valeurs d'amorçage."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Collection, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.reference.tables import seed_values
from services.financing.adapters.financing_tables import cpne_idcc, npec_rows
from services.financing.domain.npec import NpecRow, Referential
from shared.db import MAX_BIND_PARAMETERS, driver_connection, table_name


async def load_referential(conn: AsyncConnection, rncps: Collection[str] | None = None) -> Referential:
    """The referential, limited to some RNCP codes when given. On the driver's connection, in
    ``conn``'s transaction: the projection reads it for every batch.

    One statement reads the NPEC rows and what identifies the CPNE -> IDCC links (their count and
    the sum of their hashes); the links themselves are read again only when that changes (an
    import, any other write), seen by the first statement after its commit."""
    apg = await driver_connection(conn)
    links = table_name(conn, cpne_idcc)
    sql = _referential_sql(table_name(conn, npec_rows), links, rncps is not None)
    found = await (apg.fetch(sql) if rncps is None else apg.fetch(sql, list(rncps)))
    by_idcc = _LINKS.get((found[0][0], found[0][1]))
    if by_idcc is None:
        by_idcc = _links(await apg.fetch(f"SELECT count(*) OVER (), {_LINK_HASH} OVER (), cpne, idcc FROM {links}"))
    return Referential([NpecRow(*r[2:]) for r in found if r[2] is not None], by_idcc, {}, dict(seed_values()))


# the links' identity: a link only counts by its (cpne, idcc) (its file date is not read)
_LINK_HASH = "sum(hash_record_extended((cpne, idcc), 0))"
# (count, sum of hashes) -> CPNEs by IDCC, the maps of the last few link sets read; by content, so
# a map is right whatever database or schema (the rebuild's copy) has that set
_LINKS: dict[tuple[int, Decimal], dict[str, frozenset[str]]] = {}


@lru_cache(maxsize=16)
def _referential_sql(npec: str, links: str, some: bool) -> str:
    return (f"SELECT k.n, k.h, r.rncp, r.cpne, r.npec, r.applicable_from, r.file_date FROM "
            f"(SELECT count(*) AS n, coalesce({_LINK_HASH}, 0) AS h FROM {links}) k "
            f"LEFT JOIN {npec} r ON {'r.rncp = ANY($1::text[])' if some else 'true'}")


def _links(rows: list[Sequence]) -> dict[str, frozenset[str]]:
    """The map of links read with their identity (one statement: one snapshot), kept under it."""
    by_idcc = cpnes_by_idcc((cpne, idcc) for _, _, cpne, idcc in rows)
    key = (rows[0][0], rows[0][1]) if rows else (0, Decimal(0))
    if len(_LINKS) >= 8:
        _LINKS.clear()
    _LINKS[key] = by_idcc
    return by_idcc


def cpnes_by_idcc(links: Iterable[Sequence]) -> dict[str, frozenset[str]]:
    by_idcc: dict[str, set[str]] = {}
    for cpne, idcc in links:
        by_idcc.setdefault(idcc, set()).add(cpne)
    return {idcc: frozenset(cpnes) for idcc, cpnes in by_idcc.items()}   # shared between batches: frozen


def referential_of(rows: Iterable[Sequence], links: Iterable[Sequence]) -> Referential:
    """The referential from its rows as read: (rncp, cpne, npec, applicable_from, file_date) and
    (cpne, idcc) links."""
    return Referential([NpecRow(*r) for r in rows], cpnes_by_idcc(links), {}, dict(seed_values()))


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
