"""The contracts service's own secrets (``contracts.secrets``): the pseudonymisation key, made
by migration contracts_0006 and read here only. It never changes once made, so each process reads
it once per engine (not once per signature)."""
from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

_KEY = text("SELECT value FROM contracts.secrets WHERE name = 'pseudonym_key'")
_known: WeakKeyDictionary[Engine, bytes] = WeakKeyDictionary()   # an engine (one database) -> its key


class SqlSecrets:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def pseudonym_key(self) -> bytes:
        engine = self.conn.sync_engine
        key = _known.get(engine)
        if key is None:
            key = _known[engine] = bytes((await self.conn.execute(_KEY)).scalar_one())
        return key
