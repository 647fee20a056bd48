"""API keys: random, shown once, stored hashed (SHA-256 of a 256-bit secret), revocable, each
with a role (cfa, opco, ops) and an organisation (CFA UAI or SIRET, OPCO code, ops name)."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Column, DateTime, MetaData, Table, Text, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.access import ROLES, Principal, require_role  # noqa: F401 (the API's names for them)
from shared.api.key_lookups import PREFIX, Verdict, key_hash, key_id_of
from shared.api.problems import Problem
from shared.api.ratelimit import RateLimiter

Role = Literal["cfa", "opco", "ops"]
_md = MetaData(schema="auth")
api_keys = Table("api_keys", _md,
                 Column("key_id", Text, primary_key=True),
                 Column("key_hash", Text, nullable=False),
                 Column("role", Text, nullable=False),
                 Column("org", Text, nullable=False),
                 Column("label", Text),
                 Column("created_at", DateTime(timezone=True), server_default=func.now()),
                 Column("revoked_at", DateTime(timezone=True)))



_BY_ID = text("SELECT key_hash, role, org, revoked_at FROM auth.api_keys WHERE key_id = :key_id")


async def create_key(conn: AsyncConnection, role: str, org: str, label: str | None = None) -> tuple[str, str]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not org.strip():
        raise ValueError("an organisation is required")
    key_id = secrets.token_hex(6)
    raw = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    await conn.execute(api_keys.insert().values(key_id=key_id, key_hash=key_hash(raw), role=role,
                                                org=org.strip(), label=label))
    return key_id, raw


async def revoke_key(conn: AsyncConnection, key_id: str) -> bool:
    res = await conn.execute(update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                             .values(revoked_at=datetime.now(timezone.utc)))
    return res.rowcount == 1


async def list_keys(conn: AsyncConnection):
    rows = await conn.execute(select(api_keys.c.key_id, api_keys.c.role, api_keys.c.org, api_keys.c.label,
                                     api_keys.c.created_at, api_keys.c.revoked_at).order_by(api_keys.c.created_at))
    return rows.all()


async def authenticate(conn: AsyncConnection, raw: str) -> Principal | None:
    key_id = key_id_of(raw)
    if key_id is None:
        return None
    row = (await conn.execute(_BY_ID, {"key_id": key_id})).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, key_hash(raw)):
        return None
    return Principal(key_id, row.role, row.org)


_bearer = HTTPBearer(auto_error=False, description="An API key issued by `parcours keys create`.")


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(request: Request,
                            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The key's principal, read after the request arrived (a revoked key answers 401 at once):
    in the batch of the process's key lookups (shared/api/key_lookups.py), or through the pool
    while their connection is down."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise _unauthorized("An API key is required: Authorization: Bearer <key>.")
    state = request.app.state
    lookups = getattr(state, "key_lookups", None)
    verdict = await lookups.check(creds.credentials) if lookups is not None else None
    if verdict is None:
        async with state.engine.connect() as conn:
            verdict = Verdict(await authenticate(conn, creds.credentials))
    principal = verdict.principal
    if principal is None:
        raise _unauthorized("The API key is unknown or revoked.")
    limiter = getattr(state, "rate_limiter", None)
    wait = verdict.wait
    if not wait and limiter is not None and not (lookups is not None and lookups.shared_limit and lookups.connected):
        wait = limiter.acquire(principal.key_id)
    if wait:
        raise Problem(429, "too-many-requests", "Too many requests",
                      "This key's request rate is over its limit; retry after the delay given.",
                      headers={"Retry-After": RateLimiter.retry_after(wait)})
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]



async def cfa_principal(principal: CurrentPrincipal) -> Principal:
    """A CFA key (the role is checked before the body is validated)."""
    require_role(principal, "cfa")
    return principal


CfaPrincipal = Annotated[Principal, Depends(cfa_principal)]
