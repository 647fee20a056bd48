"""Import an NPEC referential (rows versioned by applicability and file date) and recompute the
paths whose contracts it affects."""
from __future__ import annotations

from datetime import date

from services.financing.application.funding_paths import recompute
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.npec import NpecFile

RECOMPUTE_BATCH = 500   # paths recomputed per round (bounded memory, a few statements each)


async def import_npec_referential(uow: FinancingUnitOfWork, file: NpecFile, file_date: date, today: date) -> dict:
    rows = [dict(r, file_date=file_date) for r in file.npec]
    links = [dict(r, file_date=file_date) for r in {(r["cpne"], r["idcc"]): r for r in file.cpne_idcc}.values()]
    async with uow:
        await uow.referential.add(rows, links)
        affected = await uow.reads.apprentices_certified_in(sorted({r["rncp"] for r in file.npec}))
        for i in range(0, len(affected), RECOMPUTE_BATCH):
            await recompute(uow, set(affected[i:i + RECOMPUTE_BATCH]), today)
        total = await uow.referential.size()
        await uow.commit()
    return {"npec_rows": len(rows), "cpne_idcc_rows": len(links), "recomputed_paths": len(affected),
            "referential_rows": total}
