"""The transaction of a unit of work that owns its connection (shared/sql_unit_of_work.py), begun,
committed and rolled back on the driver (shared.db.UnitConnection): raw and SQLAlchemy statements
in one transaction whichever comes first, rollback on exception, nested entry, REPEATABLE READ for
a snapshot, the connection back in the pool, and never reused in an unknown state (a failed
COMMIT, a cancelled statement). A unit joined to someone else's transaction leaves it alone."""
import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from shared.db import driver_connection, execute, make_engine
from shared.sql_unit_of_work import SqlUnitOfWorkBase
from tests.integration.probe_tables import probe, probe_keys  # noqa: F401 (probe: a fixture)


class Unit(SqlUnitOfWorkBase):
    schema = "public"

    def bind_ports(self, conn) -> None:
        pass


@pytest.fixture
async def own_engine(settings):
    eng = make_engine(settings, pool_size=2)
    yield eng
    await eng.dispose()


async def _raw(unit: Unit, sql: str):
    return await (await driver_connection(unit.connection)).fetchval(sql)


async def test_raw_and_sqlalchemy_statements_commit_together_either_first(own_engine, probe):
    async with Unit(own_engine) as u:
        await _raw(u, f"INSERT INTO {probe} VALUES ('raw1')")
        await u.connection.execute(text(f"INSERT INTO {probe} VALUES ('sa1')"))
        assert await probe_keys(own_engine, probe) == []   # not visible before the commit
        await u.commit()
    async with Unit(own_engine) as u:
        await u.connection.execute(text(f"INSERT INTO {probe} VALUES ('sa2')"))
        await execute(u.connection, f"INSERT INTO {probe} VALUES (:k)", {"k": "raw2"})
        assert await _raw(u, "SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() "
                             "AND backend_xid IS NOT NULL") == 1   # one transaction, written by both
        await u.commit()
    assert await probe_keys(own_engine, probe) == ["raw1", "raw2", "sa1", "sa2"]
    assert own_engine.sync_engine.pool.checkedout() == 0


async def test_an_exception_rolls_back_and_returns_the_connection(own_engine, probe):
    with pytest.raises(RuntimeError):
        async with Unit(own_engine) as u:
            await _raw(u, f"INSERT INTO {probe} VALUES ('a')")
            await u.connection.execute(text(f"INSERT INTO {probe} VALUES ('b')"))
            raise RuntimeError("the command failed")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with Unit(own_engine) as u:
            await _raw(u, f"INSERT INTO {probe} VALUES ('c')")
            await _raw(u, f"INSERT INTO {probe} VALUES ('c')")
    async with Unit(own_engine) as u:   # leaving without commit rolls back too
        await _raw(u, f"INSERT INTO {probe} VALUES ('d')")
    assert await probe_keys(own_engine, probe) == []
    assert own_engine.sync_engine.pool.checkedout() == 0
    await _no_transaction_left_open(own_engine)


async def _no_transaction_left_open(engine) -> None:
    """Every connection of the pool (both at once) idle, outside any transaction."""
    async with engine.connect() as a, engine.connect() as b:
        for conn in (a, b):
            assert not (await conn.get_raw_connection()).driver_connection.is_in_transaction()


async def test_an_entry_inside_the_unit_joins_it(own_engine, probe):
    unit = Unit(own_engine)
    async with unit:
        async with unit:
            await _raw(unit, f"INSERT INTO {probe} VALUES ('inner')")
            await unit.commit()   # the outer entry commits
        assert await probe_keys(own_engine, probe) == []
        await unit.commit()
    assert await probe_keys(own_engine, probe) == ["inner"]
    with pytest.raises(RuntimeError):
        async with unit:
            async with unit:
                await _raw(unit, f"INSERT INTO {probe} VALUES ('lost')")
                await unit.commit()
            raise RuntimeError("the outer entry fails after the inner one")
    assert await probe_keys(own_engine, probe) == ["inner"]


async def test_a_statement_after_the_commit_begins_a_transaction_rolled_back_at_exit(own_engine, probe):
    async with Unit(own_engine) as u:
        await _raw(u, f"INSERT INTO {probe} VALUES ('kept')")
        await u.commit()
        await _raw(u, f"INSERT INTO {probe} VALUES ('raw-after')")
        await u.connection.execute(text(f"INSERT INTO {probe} VALUES ('sa-after')"))
    assert await probe_keys(own_engine, probe) == ["kept"]
    await _no_transaction_left_open(own_engine)


async def test_a_snapshot_unit_reads_one_state_and_leaves_the_pool_read_committed(own_engine, probe):
    async with Unit(own_engine, snapshot=True) as u:
        assert await u.connection.scalar(text("SHOW transaction_isolation")) == "repeatable read"
        before = await _raw(u, f"SELECT count(*) FROM {probe}")
        async with own_engine.begin() as other:
            await other.execute(text(f"INSERT INTO {probe} VALUES ('meanwhile')"))
        assert await _raw(u, f"SELECT count(*) FROM {probe}") == before
    async with Unit(own_engine, snapshot=True) as u:   # raw first: the same isolation
        assert await _raw(u, "SHOW transaction_isolation") == "repeatable read"
    for _ in range(3):   # every pooled connection is back to the default
        async with Unit(own_engine) as u:
            assert await _raw(u, "SHOW transaction_isolation") == "read committed"
            assert await u.connection.scalar(text("SHOW transaction_isolation")) == "read committed"


async def test_a_commit_refused_by_postgresql_rolls_back_and_keeps_the_connection(own_engine, probe):
    name = f"{probe}_deferred"
    async with own_engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {name} (k text, UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)"))
    try:
        unit = Unit(own_engine)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with unit:
                await _raw(unit, f"INSERT INTO {name} VALUES ('x'), ('x')")
                await unit.commit()   # the constraint is checked at COMMIT
        assert not unit.connection.sync_connection.invalidated   # PostgreSQL answered: idle, reusable
        assert own_engine.sync_engine.pool.checkedout() == 0
        await _no_transaction_left_open(own_engine)
        async with Unit(own_engine) as u:
            assert await _raw(u, f"SELECT count(*) FROM {name}") == 0
    finally:
        async with own_engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE {name}"))


async def test_a_connection_lost_midway_is_not_given_back_to_the_pool(own_engine, probe):
    unit = Unit(own_engine)
    with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)):
        async with unit:
            pid = await _raw(unit, "SELECT pg_backend_pid()")
            async with own_engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.1)
            await _raw(unit, f"INSERT INTO {probe} VALUES ('lost')")
    assert own_engine.sync_engine.pool.checkedout() == 0
    async with Unit(own_engine) as u:   # lost while idle in the pool: found by the unit's first statement
        pid = await _raw(u, "SELECT pg_backend_pid()")
        await u.commit()
    async with own_engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await asyncio.sleep(0.1)
    failures = 0
    for _ in range(2):
        try:
            async with Unit(own_engine) as u:
                await _raw(u, "SELECT 1")
        except Exception:  # noqa: BLE001 - the one unit that checks the lost connection out
            failures += 1
    assert failures <= 1
    for _ in range(3):   # no pre-ping: a dead connection back in the pool would fail one of these
        async with Unit(own_engine) as u:
            assert await _raw(u, "SELECT 1") == 1
            await u.commit()


async def test_a_cancelled_statement_leaves_no_connection_in_an_unknown_state(own_engine, probe):
    async def slow():
        async with Unit(own_engine) as u:
            await _raw(u, f"INSERT INTO {probe} VALUES ('never')")
            await _raw(u, "SELECT pg_sleep(5)")
            await u.commit()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(slow(), 0.3)
    assert own_engine.sync_engine.pool.checkedout() == 0
    for _ in range(3):
        async with Unit(own_engine) as u:
            assert await _raw(u, "SELECT 1") == 1
            assert await u.connection.scalar(text("SELECT 2")) == 2
    assert await probe_keys(own_engine, probe) == []


async def test_a_joined_unit_leaves_the_transaction_to_its_owner(own_engine, probe):
    async with own_engine.connect() as conn:
        await conn.begin()
        async with Unit.joining(conn) as u:
            await _raw(u, f"INSERT INTO {probe} VALUES ('joined')")
            await u.commit()   # the owner's to commit
        assert conn.in_transaction()
        await conn.rollback()
    assert await probe_keys(own_engine, probe) == []
    async with own_engine.begin() as conn:
        async with Unit.joining(conn) as u:
            await _raw(u, f"INSERT INTO {probe} VALUES ('joined')")
    assert await probe_keys(own_engine, probe) == ["joined"]
