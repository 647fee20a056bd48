"""What the live database (the one `make run` started, named by PARCOURS_DATABASE_URL) holds:
every table's row count and a hash of its rows, to show the suite leaves it as it found it."""
from __future__ import annotations

import asyncio
import time

import asyncpg
from sqlalchemy.engine import make_url

from shared.settings import get_settings

Snapshot = dict[str, tuple[int, str]] | None
_TABLES = """SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"""


async def snapshot() -> Snapshot:
    """``{table: (rows, md5 of the rows)}``, or None when there is no live database."""
    url = make_url(get_settings().database_url)
    try:
        conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    except (OSError, asyncpg.InvalidCatalogNameError):
        return None
    try:
        tables = [r[0] for r in await conn.fetch(_TABLES)]
        return {t: tuple(await conn.fetchrow(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {t} t"))
            for t in tables}
    finally:
        await conn.close()


def snapshot_when_idle(timeout: float = 60.0) -> Snapshot:
    """The live stack may still be relaying and projecting what `make run` just loaded: read it
    until two reads a second apart agree (or the timeout passes, then the last read stands)."""
    previous, deadline = asyncio.run(snapshot()), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = asyncio.run(snapshot())
        if current == previous:
            return current
        previous = current
    return previous
