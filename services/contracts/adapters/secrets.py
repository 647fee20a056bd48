"""The contracts service's own secrets (``contracts.secrets``): the pseudonymisation key, made
by migration contracts_0006 and read here only. It never changes once made, so each process reads
it once per database (not once per signature)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_KEY = text("SELECT value FROM contracts.secrets WHERE name = 'pseudonym_key'")
_known: dict[str, bytes] = {}   # database URL -> its key
_by_url: dict[int, tuple[object, bytes]] = {}   # id of an engine's URL object -> (that object, its key)


class SqlSecrets:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def pseudonym_key(self) -> bytes:
        url = self.conn.engine.url   # one object per engine: rendered once, not at every signature
        known = _by_url.get(id(url))
        if known is not None and known[0] is url:
            return known[1]
        database = url.render_as_string(hide_password=True)
        key = _known.get(database)
        if key is None:
            key = _known[database] = bytes((await self.conn.execute(_KEY)).scalar_one())
        _by_url[id(url)] = (url, key)
        return key
