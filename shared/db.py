"""Async engine construction (SQLAlchemy 2.0 Core on asyncpg)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.settings import Settings


def make_engine(settings: Settings, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "parcours",
            }
        },
    )


MAX_BIND_PARAMETERS = 32_000  # PostgreSQL's protocol allows 32 767 per statement


async def insert_many(conn, table, rows: list[dict], *, on_conflict_do_nothing: bool = False) -> None:
    """Multi-row INSERTs in as few statements as the parameter limit allows."""
    if not rows:
        return
    from sqlalchemy.dialects.postgresql import insert
    chunk = max(1, MAX_BIND_PARAMETERS // max(1, len(rows[0])))
    for i in range(0, len(rows), chunk):
        stmt = insert(table).values(rows[i:i + chunk])
        if on_conflict_do_nothing:
            stmt = stmt.on_conflict_do_nothing()
        await conn.execute(stmt)
