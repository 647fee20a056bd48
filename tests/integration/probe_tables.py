"""A scratch table for the transaction tests (test_driver_connection, test_sign_unit_of_work):
``probe`` is its name, created before the test and dropped after; ``probe_keys`` reads what a
transaction left in it, committed."""
import uuid

import pytest
from sqlalchemy import text


@pytest.fixture
async def probe(engine):
    name = f"probe_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {name} (k text PRIMARY KEY, v jsonb)"))
    yield name
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {name}"))


async def probe_keys(engine, table) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(f"SELECT k FROM {table} ORDER BY k"))).scalars())
