"""The dashboard as JSON, a council's printable agenda and minutes, and the audit pack
(docs/quality.md, *Dashboard*, *Conseil de perfectionnement*, *Audit pack*)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from services.quality.api import pages
from services.quality.api.audit_pack import audit_zip
from services.quality.api.dependencies import CurrentClock, SnapshotUnitOfWork, example
from services.quality.application.board_queries import audit_board, council_minutes as minutes_of, show_board
from services.quality.application.dashboard import public
from shared.auth import CfaPrincipal
from shared.types import IsoDate

router = APIRouter(tags=["quality"])


@router.get("/v1/quality/dashboard", summary="The tableau de bord as JSON (CFA key)",
            responses={200: example({"cfa": "0751234J", "incidents": [], "complaints": {"by_status": {}, "open": []},
                                     "measures": {"by_status": {}, "late": []}, "appraisal_coverage": {"gaps": []},
                                     "ruptures": {}, "absenteeism": {}, "suggestions": [], "next_council": None, "webhooks": []})})
async def dashboard_json(principal: CfaPrincipal, uow: SnapshotUnitOfWork, clock: CurrentClock,
                         from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None):
    return public(await show_board(uow, principal, clock.today(), from_, to))


@router.get("/v1/quality/councils/{record_id}/minutes.html", summary="A council's agenda and minutes, printable",
            response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {"example": "<!doctype html>..."}}}})
async def council_minutes(record_id: str, principal: CfaPrincipal, uow: SnapshotUnitOfWork, clock: CurrentClock):
    council, agenda = await minutes_of(uow, principal, record_id, clock.today())
    return HTMLResponse(pages.minutes(council, agenda))


@router.get("/v1/quality/audit-pack", summary="Evidence for indicators 30, 31 and 32 over a period, as a zip",
            response_class=Response,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
async def audit_pack(principal: CfaPrincipal, uow: SnapshotUnitOfWork, clock: CurrentClock,
                     from_: Annotated[IsoDate, Query(alias="from")], to: IsoDate):
    board = await audit_board(uow, principal, from_, to, clock.today())
    return Response(audit_zip(board, principal.org, from_, to), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="qualiopi-{principal.org}-{from_}-{to}.zip"'})
