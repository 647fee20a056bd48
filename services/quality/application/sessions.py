"""The dashboard's login (docs/quality.md, *Dashboard*): a CFA key opens a session of 8 hours;
the browser keeps a random token, the store its SHA-256 only."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from services.quality.application.unit_of_work import QualityUnitOfWork
from kernel.access import Principal

SESSION_HOURS = 8


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def log_in(uow: QualityUnitOfWork, raw_key: str, now: datetime) -> str | None:
    """A session token for a CFA's key; None for an empty, unknown or revoked key, or another role's."""
    async with uow:
        principal = await uow.sessions.key_principal(raw_key) if raw_key else None
        if principal is None or principal.role != "cfa":
            return None
        token = secrets.token_urlsafe(32)
        await uow.sessions.open(_digest(token), principal.key_id, now + timedelta(hours=SESSION_HOURS))
        await uow.commit()
    return token


async def session_principal(uow: QualityUnitOfWork, token: str | None, now: datetime) -> Principal | None:
    """The key behind a session token, while the session lasts and the key is not revoked."""
    if not token:
        return None
    async with uow:
        return await uow.sessions.principal(_digest(token), now)


async def log_out(uow: QualityUnitOfWork, token: str | None) -> None:
    if token:
        async with uow:
            await uow.sessions.close(_digest(token))
            await uow.commit()
