"""The dashboard (JSON and page), the login that puts a CFA key in a session, council minutes,
and the audit pack."""
from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import delete, select

from services.quality.adapters.tables import records, sessions
from services.quality.api import pages
from services.quality.application.dashboard import build, council_agenda, public
from services.quality.application.recording import record_body
from shared.api.problems import Problem, not_found
from shared.auth import CfaPrincipal, Principal, api_keys, authenticate, require_role
from shared.types import IsoDate

router = APIRouter(tags=["quality"])
pages_router = APIRouter(include_in_schema=False)
COOKIE = "parcours_session"
SESSION_HOURS = 8
FORM = "application/x-www-form-urlencoded"


def _example(value) -> dict:
    return {200: {"content": {"application/json": {"example": value}}}}


@router.get("/v1/quality/dashboard", summary="The tableau de bord as JSON (CFA key)",
            responses=_example({"cfa": "0751234J", "incidents": [], "complaints": {"by_status": {}, "open": []},
                                "measures": {"by_status": {}, "late": []}, "appraisal_coverage": {"gaps": []},
                                "ruptures": {}, "absenteeism": {}, "suggestions": [], "next_council": None}))
async def dashboard_json(request: Request, principal: CfaPrincipal,
                         from_: Annotated[IsoDate | None, Query(alias="from")] = None, to: IsoDate | None = None):
    require_role(principal, "cfa")
    async with request.app.state.engine.connect() as conn:
        board = await build(conn, principal.org, request.app.state.clock.today(), from_, to)
    return public(board)


@router.get("/v1/quality/councils/{record_id}/minutes.html", summary="A council's agenda and minutes, printable",
            response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {"example": "<!doctype html>..."}}}})
async def council_minutes(record_id: str, request: Request, principal: CfaPrincipal):
    require_role(principal, "cfa")
    async with request.app.state.engine.connect() as conn:
        row = (await conn.execute(select(records).where(records.c.record_id == record_id, records.c.kind == "council",
                                                        records.c.cfa == principal.org))).first()
        if row is None:
            raise not_found("council")
        council = record_body(row)
        board = await build(conn, principal.org, request.app.state.clock.today(),
                            datetime.fromisoformat(council["period_from"]).date(),
                            datetime.fromisoformat(council["period_to"]).date())
    return HTMLResponse(pages.minutes({**council, "cfa": principal.org}, council_agenda(board)))


@router.get("/v1/quality/audit-pack", summary="Evidence for indicators 30, 31 and 32 over a period, as a zip",
            response_class=Response,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
async def audit_pack(request: Request, principal: CfaPrincipal,
                     from_: Annotated[IsoDate, Query(alias="from")], to: IsoDate):
    require_role(principal, "cfa")
    if to < from_:
        raise Problem(422, "invalid-period", "Invalid period", "'to' is before 'from'.")
    async with request.app.state.engine.connect() as conn:
        board = await build(conn, principal.org, request.app.state.clock.today(), from_, to)
    rec = board["records"]
    files = {
        "indicator_30_appraisals.json": {"appraisals": rec.get("appraisal", []), "coverage": board["appraisal_coverage"]},
        "indicator_31_complaints_hazards_incidents.json": {"complaints": rec.get("complaint", []),
                                                           "hazards": rec.get("hazard", []),
                                                           "incidents": rec.get("incident", [])},
        "indicator_32_improvement.json": {"measures": rec.get("measure", []), "ruptures": board["ruptures"],
                                          "absenteeism": board["absenteeism"], "suggestions": board["suggestions"],
                                          "councils": rec.get("council", [])},
    }
    blobs = {name: json.dumps(content, ensure_ascii=False, indent=2).encode() for name, content in files.items()}
    blobs["dashboard.html"] = pages.dashboard(board).encode()
    for council in rec.get("council", []):
        blobs[f"council_{council['id']}.html"] = pages.minutes({**council, "cfa": principal.org},
                                                               council_agenda(board)).encode()
    manifest = {"cfa": principal.org, "from": from_.isoformat(), "to": to.isoformat(),
                "generated_at": datetime.now(timezone.utc).isoformat(),
                "files": [{"file": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in blobs.items()]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in blobs.items():
            z.writestr(name, blob)
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="qualiopi-{principal.org}-{from_}-{to}.zip"'})


async def _session_principal(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    async with request.app.state.engine.connect() as conn:
        row = (await conn.execute(select(api_keys.c.key_id, api_keys.c.role, api_keys.c.org)
                                  .select_from(sessions.join(api_keys, sessions.c.key_id == api_keys.c.key_id))
                                  .where(sessions.c.session_hash == digest, api_keys.c.revoked_at.is_(None),
                                         sessions.c.expires_at > datetime.now(timezone.utc)))).first()
    return Principal(row.key_id, row.role, row.org) if row else None


@pages_router.get("/login")
async def login_page():
    return HTMLResponse(pages.login())


@pages_router.post("/login")
async def login(request: Request):
    form = parse_qs((await request.body()).decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    async with request.app.state.engine.begin() as conn:
        principal = await authenticate(conn, key) if key else None
        if principal is None or principal.role != "cfa":
            return HTMLResponse(pages.login("Cette clé est inconnue, révoquée, ou n'est pas celle d'un CFA."),
                                status_code=401)
        token = secrets.token_urlsafe(32)
        await conn.execute(sessions.insert().values(session_hash=hashlib.sha256(token.encode()).hexdigest(),
                                                    key_id=principal.key_id,
                                                    expires_at=datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS)))
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=SESSION_HOURS * 3600, path="/")
    return response


@pages_router.post("/logout")
async def logout(request: Request):
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app.state.engine.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.session_hash == hashlib.sha256(token.encode()).hexdigest()))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@pages_router.get("/dashboard")
async def dashboard_page(request: Request):
    principal = await _session_principal(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    async with request.app.state.engine.connect() as conn:
        board = await build(conn, principal.org, request.app.state.clock.today())
    return HTMLResponse(pages.dashboard(board))
