"""Hot statements run on the driver's (asyncpg's) connection under a SQLAlchemy connection
(shared.db.driver_connection): they must be in that connection's transaction, committed or rolled
back with it, even when they come before any SQLAlchemy statement (SQLAlchemy begins lazily)."""

import pytest
from sqlalchemy import text

from shared.db import driver_connection, execute, json_text
from tests.integration.probe_tables import probe, probe_keys  # noqa: F401 (probe: a fixture)


async def test_a_first_raw_statement_is_rolled_back_with_the_unit(engine, probe):
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await (await driver_connection(conn)).execute(f"INSERT INTO {probe} VALUES ('a', '1')")
            raise RuntimeError("the command failed after its first statement")
    async with engine.connect() as conn:   # no begin(): the raw statement begins the transaction
        await execute(conn, f"INSERT INTO {probe} VALUES (:k, CAST(:v AS jsonb))", {"k": "b", "v": "2"})
        await conn.rollback()
    assert await probe_keys(engine, probe) == []


async def test_raw_and_sqlalchemy_statements_commit_together(engine, probe):
    async with engine.connect() as conn:
        await execute(conn, f"INSERT INTO {probe} VALUES (:k, CAST(:v AS jsonb))",
                      {"k": "raw", "v": json_text({"é": [1, None], "n": 2 ** 70})})
        await conn.execute(text(f"INSERT INTO {probe} VALUES ('orm', '{{}}')"))
        assert await probe_keys(engine, probe) == []   # not visible before the commit
        await conn.commit()
    assert await probe_keys(engine, probe) == ["orm", "raw"]
    async with engine.connect() as conn:
        stored = (await conn.execute(text(f"SELECT v FROM {probe} WHERE k = 'raw'"))).scalar_one()
    assert stored == {"é": [1, None], "n": 2 ** 70}   # past 64 bits: through json, not orjson
