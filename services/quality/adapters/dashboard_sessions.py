"""The dashboard's sessions in PostgreSQL (``quality.sessions``, by the token's SHA-256) over the
API keys of ``auth.api_keys``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.quality_tables import sessions
from shared.auth import Principal, api_keys, authenticate


class SqlDashboardSessions:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def key_principal(self, raw_key: str) -> Principal | None:
        return await authenticate(self.conn, raw_key)

    async def open(self, session_hash: str, key_id: str, expires_at: datetime) -> None:
        await self.conn.execute(sessions.insert().values(session_hash=session_hash, key_id=key_id,
                                                         expires_at=expires_at))

    async def principal(self, session_hash: str, now: datetime) -> Principal | None:
        row = (await self.conn.execute(select(api_keys.c.key_id, api_keys.c.role, api_keys.c.org)
                                       .select_from(sessions.join(api_keys, sessions.c.key_id == api_keys.c.key_id))
                                       .where(sessions.c.session_hash == session_hash,
                                              api_keys.c.revoked_at.is_(None), sessions.c.expires_at > now))).first()
        return Principal(row.key_id, row.role, row.org) if row else None

    async def close(self, session_hash: str) -> None:
        await self.conn.execute(delete(sessions).where(sessions.c.session_hash == session_hash))
