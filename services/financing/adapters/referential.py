"""The stored NPEC referential (France compétences) and the valeurs d'amorçage."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.tables import cpne_idcc, npec_rows
from services.financing.domain.npec import NpecRow, Referential
from kernel.reference.tables import seed_values


async def load_referential(conn: AsyncConnection, rncps: set[str] | None = None) -> Referential:
    """The referential, limited to some RNCP codes when given (one query each table)."""
    q = select(npec_rows.c.rncp, npec_rows.c.cpne, npec_rows.c.npec, npec_rows.c.applicable_from,
               npec_rows.c.file_date)
    if rncps is not None:
        q = q.where(npec_rows.c.rncp.in_(list(rncps)))
    rows = [NpecRow(r.rncp, r.cpne, r.npec, r.applicable_from, r.file_date) for r in await conn.execute(q)]
    by_idcc: dict[str, set[str]] = {}
    for link in await conn.execute(select(cpne_idcc.c.cpne, cpne_idcc.c.idcc)):
        by_idcc.setdefault(link.idcc, set()).add(link.cpne)
    return Referential(rows, by_idcc, {}, dict(seed_values()))
