"""The hash chain detects an altered, removed or reordered event and names it."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests.integration.lifecycle_api import ContractsApi
from tests.support import create_database, drop_database, isolated_contracts


def verify(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARCOURS_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "operations.cli", "ops", "verify-chain", *args],
                          env=env, capture_output=True, text=True, timeout=120)


async def tamper(engine, sql: str, **params) -> None:
    async with engine.begin() as conn:  # as a database owner would, around the append-only guard
        await conn.execute(text("ALTER TABLE contracts.events DISABLE TRIGGER events_append_only"))
        await conn.execute(text(sql), params)
        await conn.execute(text("ALTER TABLE contracts.events ENABLE TRIGGER events_append_only"))


@pytest.fixture
async def own():
    """A database of its own: these tests damage the log on purpose."""
    async with isolated_contracts() as (client, app, keys, url, _):
        yield ContractsApi(client, keys), app.state.engine, url


async def test_verify_chain_names_the_altered_removed_and_reordered_events(own):
    api, engine, database_url = own
    cid = (await api.sign())["contract_id"]
    await api.transmit(cid)
    await api.accept(cid)
    await api.deposit(cid)
    ok = verify(database_url, "--store", "contracts")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    await tamper(engine, "UPDATE contracts.events SET data = jsonb_set(data, '{annual_funding_level}', '\"9000.00\"') "
                         "WHERE stream_id = :s AND stream_version = 3", s=cid)
    altered = verify(database_url, "--stream", cid, "--store", "contracts")
    assert altered.returncode == 1
    assert f"stream {cid} version 3" in altered.stdout and "altered" in altered.stdout
    await tamper(engine, "UPDATE contracts.events SET data = jsonb_set(data, '{annual_funding_level}', '\"7000.00\"') "
                         "WHERE stream_id = :s AND stream_version = 3", s=cid)
    assert verify(database_url, "--stream", cid, "--store", "contracts").returncode == 0

    await tamper(engine, "DELETE FROM contracts.events WHERE stream_id = :s AND stream_version = 2", s=cid)
    removed = verify(database_url, "--stream", cid, "--store", "contracts")
    assert removed.returncode == 1 and "removed" in removed.stdout and "version 2" in removed.stdout


async def test_reordering_is_detected(own):
    api, engine, database_url = own
    cid = (await api.sign())["contract_id"]
    await api.transmit(cid)
    await api.accept(cid)
    for old, new in ((2, 1000), (3, 2), (1000, 3)):  # swap events 2 and 3
        await tamper(engine, "UPDATE contracts.events SET stream_version = :n WHERE stream_id = :s AND stream_version = :o",
                     s=cid, o=old, n=new)
    swapped = verify(database_url, "--stream", cid, "--store", "contracts")
    assert swapped.returncode == 1 and "reordered" in swapped.stdout


async def test_ops_refuse_a_database_they_did_not_migrate():
    url = await create_database("unmigrated")
    try:
        from sqlalchemy.ext.asyncio import create_async_engine
        eng = create_async_engine(url)
        async with eng.begin() as conn:
            await conn.execute(text("UPDATE financing.alembic_version SET version_num = 'financing_0001'"))
        await eng.dispose()
        refused = verify(url)
        assert refused.returncode == 3 and "financing is at financing_0001" in refused.stderr
    finally:
        await drop_database(url)
