"""Rebuild the financing projection from Kafka and from the feed while the live one serves;
verify it matches; interrupt and resume; swap."""
import asyncio
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from contract_events.catalogue import VERSIONS
from contract_events.publication import public_data
from services.contracts.adapters.contract_streams import store
from services.financing.adapters.financing_projection import FinancingProjection
from operations.history_generator import generate
from operations.projections import FINANCING
from operations.rebuild import compare
from shared.clock import SystemClock
from shared.db import make_engine
from shared.eventstore.feed_reader import FeedReader
from shared.eventstore.model import Cursor, NewEvent, StreamAppend
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.relay import OutboxRelay, make_producer
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from tests.support import create_database, drop_database, eventually, settings_for

CONTRACTS = 1000


@pytest.fixture
async def history():
    url = await create_database("rebuild")
    settings = settings_for(url)
    engine = make_engine(settings, pool_size=4)
    appends = list(generate(CONTRACTS, seed=11))
    for i in range(0, len(appends), 200):  # many commands, 200 per transaction
        async with engine.begin() as conn:
            for a in appends[i:i + 200]:
                await store.append(conn, [StreamAppend(s, v, [NewEvent(t, d, schema_version=VERSIONS[t],
                                                                       metadata={"partitionkey": a.partition_key})
                                                              for t, d in evs]) for s, v, evs in a.streams])
    await ensure_topics(settings, [CONTRACT_EVENTS])
    producer = make_producer(settings.kafka_bootstrap)
    await producer.start()
    published = await OutboxRelay(engine, store, producer, settings.topic(CONTRACT_EVENTS), "/parcours/contracts",
                                  batch_size=2000, publishable=public_data).run_until_idle()   # as the service does
    await producer.stop()
    live = ConsumerRunner(engine, "financing", FinancingProjection(SystemClock()), [settings.topic(CONTRACT_EVENTS)],
                          settings.kafka_bootstrap, batch_size=2000)
    stop = asyncio.Event()
    task = asyncio.create_task(live.run(stop))

    async def caught_up():
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT count(*) FROM financing.contract_events")) == published
    await eventually(caught_up, timeout=120, what="the live projection to consume the history")
    stop.set()
    await task
    yield settings, engine, published
    await engine.dispose()
    await drop_database(url)


async def indexes(engine, schema: str) -> set[tuple]:
    """The indexes of the projection's tables in ``schema``, and the constraints they back."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT t.relname, i.relname, replace(pg_get_indexdef(x.indexrelid), :s || '.', ''), c.conname, "
            "c.contype::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = t.oid "
            "WHERE n.nspname = :s AND t.relname = ANY(:tables)"), {"s": schema, "tables": list(FINANCING.tables)})
        return {tuple(r) for r in rows}


def ops(settings, *args, **env):
    return subprocess.run([sys.executable, "-m", "operations.cli", "ops", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PARCOURS_DATABASE_URL": settings.database_url,
                                            "PARCOURS_TOPIC_PREFIX": settings.topic_prefix, **env})


async def test_rebuilds_from_kafka_and_from_the_feed_match_the_live_tables(history):
    settings, engine, published = history
    assert published > 2 * CONTRACTS
    async with engine.connect() as conn:
        rehires = await conn.scalar(text("SELECT count(*) FROM financing.contract_events WHERE type = 'contract.rehired'"))
        lines = await conn.scalar(text("SELECT count(*) FROM financing.lines"))
    assert rehires > 10 and lines > CONTRACTS

    async with engine.connect() as conn:   # the rebuild's raw read of the feed: the store's read, row for row
        apg = (await conn.get_raw_connection()).driver_connection
        raw, cursor, reader = [], Cursor(), FeedReader("contracts")
        while batch := await reader.read(apg, cursor, 700):
            raw, cursor = raw + batch, batch[-1].cursor
        read, cursor = [], Cursor()
        while batch := await store.read_all(conn, cursor, 700):
            read, cursor = read + batch, batch[-1].cursor
    assert len(read) == published and [(e.cursor, str(e.event_id), e.data, e.metadata, e.recorded_at) for e in raw] \
        == [(e.cursor, str(e.event_id), e.data, e.metadata, e.recorded_at) for e in read]

    verified = ops(settings, "verify", "financing", "--source", "kafka")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count(": equal") == len(FINANCING.tables)

    killed = ops(settings, "rebuild", "financing", "--source", "feed", "--batch", "700",
                 PARCOURS_REBUILD_CRASH_AFTER_BATCHES="3")
    assert killed.returncode == 137
    resumed = ops(settings, "rebuild", "financing", "--source", "feed", "--batch", "700")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["events"] == published - 3 * 700
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_rebuild"))

    # the paths' phase interrupted after its first transaction of 100 paths: resumed after them
    killed = ops(settings, "rebuild", "financing", "--source", "feed", "--paths-per-transaction", "100",
                 PARCOURS_REBUILD_CRASH_AFTER_PATH_CHUNKS="1")
    assert killed.returncode == 137, killed.stderr
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT paths FROM financing_rebuild._rebuild_paths")) == 100
        apprentices = await conn.scalar(text("SELECT count(DISTINCT apprentice_id) FROM financing.contract_events"))
    resumed = ops(settings, "rebuild", "financing", "--source", "feed", "--paths-per-transaction", "100")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["events"] == 0   # the log was stored whole
    async with engine.connect() as conn:   # each path computed once over the two runs
        assert await conn.scalar(text("SELECT sum(paths) FROM financing_rebuild._rebuild_paths")) == apprentices
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_rebuild"))
    # loaded without their indexes and keys, the tables have them all again once rebuilt
    live_indexes = await indexes(engine, "financing")
    assert len(live_indexes) > len(FINANCING.tables) and await indexes(engine, "financing_rebuild") == live_indexes
    two = ops(settings, "rebuild", "financing", "--source", "kafka", "--workers", "2")   # two processes, two shares
    assert two.returncode == 0, two.stderr
    async with engine.connect() as conn:
        shares = (await conn.execute(text("SELECT share, paths FROM financing_rebuild._rebuild_paths "
                                          "ORDER BY share"))).all()
    assert len(shares) == 2 and all(paths > 0 for _, paths in shares) and sum(p for _, p in shares) == apprentices
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_rebuild"))

    # from the feed in two processes, each storing the apprentices of its share in commit order:
    # interrupted after two batches, resumed; nothing lost, nothing stored twice, the same tables
    killed = ops(settings, "rebuild", "financing", "--source", "feed", "--workers", "2", "--batch", "300",
                 PARCOURS_REBUILD_CRASH_AFTER_BATCHES="2")
    assert killed.returncode != 0
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT count(*) FROM financing_rebuild.contract_events"))
        position = await conn.scalar(text("SELECT position FROM financing_rebuild._rebuild_progress"))
    assert 0 < stored < published and position["shares"] == 2
    resumed = ops(settings, "rebuild", "financing", "--source", "feed", "--workers", "2", "--batch", "300")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["events"] == published - stored
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_rebuild"))

    swapped = ops(settings, "rebuild", "financing", "--source", "kafka", "--swap")
    assert swapped.returncode == 0, swapped.stderr
    assert json.loads(swapped.stdout.strip().splitlines()[-1])["swapped"] is True
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_previous"))
    assert await indexes(engine, "financing") == await indexes(engine, "financing_previous") == live_indexes
    assert ops(settings, "drop-previous", "financing").stdout.strip() == "dropped"
    quality = ops(settings, "rebuild", "quality", "--source", "feed", "--swap")  # the other Kafka-fed projection
    assert quality.returncode == 0, quality.stderr
    assert json.loads(quality.stdout.strip().splitlines()[-1])["events"] == published

    async with engine.begin() as conn:  # damage the live projection: verify names the key
        victim = await conn.scalar(text("SELECT contract_id FROM financing.lines ORDER BY contract_id LIMIT 1"))
        await conn.execute(text("UPDATE financing.lines SET amount = amount + 1 WHERE contract_id = :c "
                                "AND funding_year = 1"), {"c": victim})
    damaged = ops(settings, "verify", "financing", "--source", "feed")
    assert damaged.returncode == 1 and f"differs: {victim}/1" in damaged.stdout
