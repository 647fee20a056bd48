"""Databases of their own on the stack's PostgreSQL, migrated like the real one: one per test
or benchmark run, so runs never collide, dropped (with their sessions) when done."""
from __future__ import annotations

import asyncio
import secrets

import asyncpg
from sqlalchemy.engine import make_url

from shared.migrations import upgrade_all
from shared.settings import get_settings


async def _admin() -> asyncpg.Connection:
    url = make_url(get_settings().database_url)
    return await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)


async def create_database(prefix: str = "t") -> str:
    """A fresh, migrated database named ``parcours_<prefix>_<hex>``; returns its SQLAlchemy URL."""
    name = f"parcours_{prefix}_{secrets.token_hex(4)}"
    conn = await _admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(get_settings().database_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_all, url)
    return url


async def drop_database(sqlalchemy_url: str) -> None:
    conn = await _admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(sqlalchemy_url).database}" WITH (FORCE)')
    finally:
        await conn.close()
