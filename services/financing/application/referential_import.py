"""Import an NPEC referential (versioned by applicability and file date) and recompute the
paths whose contracts it affects."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.npec_file import NpecFile
from services.financing.adapters.tables import contract_events, cpne_idcc, npec_rows
from services.financing.application.projection import recompute
from shared.db import MAX_BIND_PARAMETERS

RECOMPUTE_BATCH = 500


async def import_referential(conn: AsyncConnection, file: NpecFile, file_date: date, today: date) -> dict:
    rows = [dict(r, file_date=file_date) for r in file.npec]
    chunk = MAX_BIND_PARAMETERS // 7
    for i in range(0, len(rows), chunk):
        stmt = insert(npec_rows).values(rows[i:i + chunk])
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[npec_rows.c.rncp, npec_rows.c.cpne, npec_rows.c.applicable_from, npec_rows.c.file_date],
            set_={"npec": stmt.excluded.npec, "label": stmt.excluded.label, "status": stmt.excluded.status}))
    links = [dict(r, file_date=file_date) for r in {(r["cpne"], r["idcc"]): r for r in file.cpne_idcc}.values()]
    for i in range(0, len(links), MAX_BIND_PARAMETERS // 3):
        stmt = insert(cpne_idcc).values(links[i:i + MAX_BIND_PARAMETERS // 3])
        await conn.execute(stmt.on_conflict_do_update(index_elements=[cpne_idcc.c.cpne, cpne_idcc.c.idcc],
                                                      set_={"file_date": stmt.excluded.file_date}))
    rncps = sorted({r["rncp"] for r in file.npec})
    ce = contract_events.c
    affected = [r[0] for r in await conn.execute(
        select(ce.apprentice_id).where(ce.type == "contract.signed",
                                       ce.data["certification"]["rncp"].astext.in_(rncps)).distinct())]
    for i in range(0, len(affected), RECOMPUTE_BATCH):
        await recompute(conn, set(affected[i:i + RECOMPUTE_BATCH]), today)
    total = await conn.scalar(select(func.count()).select_from(npec_rows))
    return {"npec_rows": len(rows), "cpne_idcc_rows": len(links), "recomputed_paths": len(affected),
            "referential_rows": total}
