"""The contracts service's own secrets (``contracts.secrets``): the pseudonymisation key, made
by migration contracts_0006 and read here only."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_KEY = text("SELECT value FROM contracts.secrets WHERE name = 'pseudonym_key'")


class SqlSecrets:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def pseudonym_key(self) -> bytes:
        return bytes((await self.conn.execute(_KEY)).scalar_one())
