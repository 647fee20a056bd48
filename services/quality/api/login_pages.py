"""The dashboard page behind a login (docs/quality.md, *Dashboard*): ``/login`` puts a CFA key in
a session cookie (HttpOnly, SameSite=Strict, 8 hours), ``/logout`` ends it, ``/dashboard`` shows
the board or sends to the login."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.quality.api import pages
from services.quality.api.dependencies import CurrentClock, SnapshotUnitOfWork, UnitOfWork
from services.quality.application.board_queries import show_board
from services.quality.application.sessions import SESSION_HOURS, log_in, log_out, session_principal

pages_router = APIRouter(include_in_schema=False)
COOKIE = "parcours_session"
FORM = "application/x-www-form-urlencoded"


@pages_router.get("/login")
async def login_page():
    return HTMLResponse(pages.login())


@pages_router.post("/login")
async def login(request: Request, uow: UnitOfWork):
    form = parse_qs((await request.body()).decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    token = await log_in(uow, key, datetime.now(timezone.utc))
    if token is None:
        return HTMLResponse(pages.login("Cette clé est inconnue, révoquée, ou n'est pas celle d'un CFA."),
                            status_code=401)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=SESSION_HOURS * 3600, path="/")
    return response


@pages_router.post("/logout")
async def logout(request: Request, uow: UnitOfWork):
    await log_out(uow, request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@pages_router.get("/dashboard")
async def dashboard_page(request: Request, uow: SnapshotUnitOfWork, clock: CurrentClock):
    principal = await session_principal(uow, request.cookies.get(COOKIE), datetime.now(timezone.utc))
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(pages.dashboard(await show_board(uow, principal, clock.today())))
