"""The live financing projection as several processes in one consumer group (docs/scaling.md,
"Projection workers"): partitions spread over the workers; one killed, the others take its
partitions, and every event's effect is there exactly once. And the fencing that makes it so,
against real PostgreSQL: a worker that lost its partitions without knowing applies nothing twice
and moves no offset backwards."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from sqlalchemy import text

from contract_events.catalogue import VERSIONS
from contract_events.publication import public_data
from operations.history_generator import generate
from shared.db import make_engine
from shared.envelope import CONTENT_TYPE, encode, to_cloudevent
from shared.eventstore.model import RecordedEvent
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.relay import make_producer
from shared.messaging.topics import CONTRACT_EVENTS, dlq, ensure_topics
from shared.settings import REPO_ROOT
from tests.support import create_database, drop_database, eventually, settings_for

PARTITIONS = 6
CONTRACTS = 400          # about 1,700 events, a first part before the kill, the rest after
BATCH = "25"             # small batches: many transactions
VICTIM_BATCH = "5"       # smaller still for the worker killed: the kill lands in the middle of its work


# -- the fencing rule, one process, real PostgreSQL ----------------------------------------------
@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes = b"k"
    headers: list = field(default_factory=list)


class CountingProjection:
    """Counts how many times each event was applied. The events carry no sequence: the per-stream
    check cannot skip them, only the offsets can."""
    name = "test.fencing"

    def __init__(self, gate: asyncio.Event | None = None):
        self.gate = gate

    async def apply(self, conn, events):
        await conn.execute(text("INSERT INTO financing.test_applied (id, n) SELECT unnest(CAST(:ids AS text[])), 1 "
                                "ON CONFLICT (id) DO UPDATE SET n = test_applied.n + 1"),
                           {"ids": [ce["id"] for ce in events]})
        if self.gate is not None:
            await self.gate.wait()


def batch(topic, partition, offsets):
    return {TopicPartition(topic, partition): [
        Record(topic, partition, o, encode({"specversion": "1.0", "id": f"{partition}-{o}", "source": "/test",
                                            "type": "test.happened", "subject": f"s{o % 3}", "data": {}}))
        for o in offsets]}


async def applied(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(text("SELECT id, n FROM financing.test_applied"))).all())


async def test_a_worker_that_lost_its_partitions_applies_nothing_twice_and_moves_no_offset_back(isolated):
    settings, engine = isolated
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE financing.test_applied (id text PRIMARY KEY, n int NOT NULL)"))
    topic = settings.topic("test.events")
    owner = ConsumerRunner(engine, "financing", CountingProjection(), [topic], settings.kafka_bootstrap)
    zombie = ConsumerRunner(engine, "financing", CountingProjection(), [topic], settings.kafka_bootstrap)

    await owner.process(batch(topic, 0, range(0, 10)))
    # the zombie still holds records 5..14 of partition 0 (fetched before it lost it) and 0..4 of 1
    await zombie.process({**batch(topic, 0, range(5, 15)), **batch(topic, 1, range(0, 5))})
    await zombie.process(batch(topic, 0, range(0, 4)))   # older still: nothing, and no step back
    counts = await applied(engine)
    assert sorted(counts) == sorted([f"0-{o}" for o in range(15)] + [f"1-{o}" for o in range(5)])
    assert set(counts.values()) == {1}
    assert await owner.stored_offsets() == {TopicPartition(topic, 0): 15, TopicPartition(topic, 1): 5}

    # at the same time: the new owner's batch is in its transaction when the zombie's starts
    gate = asyncio.Event()
    owner.projection = CountingProjection(gate)
    first = asyncio.create_task(owner.process(batch(topic, 2, range(0, 20))))
    await eventually(lambda: _applying(engine), what="the owner's batch inside its transaction")
    second = asyncio.create_task(zombie.process(batch(topic, 2, range(0, 20))))
    await eventually(lambda: _waiting_for_a_lock(engine), what="the zombie waiting on the offset row")
    gate.set()
    await asyncio.gather(first, second)
    counts = await applied(engine)
    assert len([i for i in counts if i.startswith("2-")]) == 20 and set(counts.values()) == {1}
    assert (await owner.stored_offsets())[TopicPartition(topic, 2)] == 20


async def _applying(engine) -> bool:
    return await _backends(engine, "state = 'idle in transaction'") >= 1


async def _waiting_for_a_lock(engine) -> bool:
    return await _backends(engine, "wait_event_type = 'Lock'") >= 1


async def _backends(engine, condition: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(text(f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      f"AND pid <> pg_backend_pid() AND {condition}"))


# -- two worker processes, one killed ------------------------------------------------------------
@pytest.fixture
async def history_db(tmp_path):
    url = await create_database("workers")
    settings = settings_for(url).model_copy(update={"topic_partitions": PARTITIONS})
    engine = make_engine(settings, pool_size=4)
    producer = make_producer(settings.kafka_bootstrap)
    workers: list[subprocess.Popen] = []
    try:
        await ensure_topics(settings, [CONTRACT_EVENTS, dlq(CONTRACT_EVENTS)])
        await producer.start()
        yield settings, engine, producer, workers, tmp_path
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait(30)
        await producer.stop()
        await engine.dispose()
        await drop_database(url)


@dataclass
class Published:
    """What went onto the topic: each event's id, each contract's last version."""
    ids: set[str] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)


async def publish(settings, producer, appends, published: Published) -> None:
    """The contract events of ``appends`` as the contracts service's relay publishes them (its
    CloudEvents, keyed by apprentice), straight onto the topic: no relay, whose horizon another
    run's long transaction on the same PostgreSQL would hold back."""
    headers = [("content-type", CONTENT_TYPE.encode())]
    sent = []
    for a in appends:
        for stream, version, events in a.streams:
            for i, (type_, data) in enumerate(events, start=1):
                recorded = RecordedEvent(0, 0, stream, version + i, uuid.uuid4(), type_, VERSIONS[type_], data,
                                         {"partitionkey": a.partition_key}, datetime.now(timezone.utc))
                ce = to_cloudevent(recorded, "/parcours/contracts", publishable=public_data)
                sent.append(await producer.send(settings.topic(CONTRACT_EVENTS), encode(ce),
                                                key=a.partition_key.encode(), headers=headers))
                published.ids.add(ce["id"])
                published.versions[stream] = version + i
    await asyncio.gather(*sent)


def start_worker(settings, group: str, log_path, batch: str) -> subprocess.Popen:
    env = {**os.environ, "PARCOURS_DATABASE_URL": settings.database_url, "PARCOURS_TOPIC_PREFIX": settings.topic_prefix,
           "PARCOURS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "PARCOURS_CONSUMER_BATCH_SIZE": batch}
    with open(log_path, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "services.financing.projection_worker", "--group", group],
                                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def assignments(settings, group: str) -> dict[int, set[int]]:
    """The partitions of the contract events topic each member of ``group`` owns now, by the pid
    of its process (nothing while the group rebalances)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    _error, _group, state, _ptype, _protocol, members, *_ = response.groups[0]
    if state != "Stable":
        return {}
    owned = {}
    for member in members:   # (member id, [instance id,] client id, host, metadata, assignment)
        [pid] = [int(m[1]) for f in member if isinstance(f, str) and (m := re.fullmatch(r"financing\.contracts\.(\d+)", f))]
        raw = member[-1]
        parts = ConsumerProtocolMemberAssignment.decode(raw).assignment if raw else []
        owned[pid] = {
            p for topic, ps in parts if topic == settings.topic(CONTRACT_EVENTS) for p in ps}
    return owned


async def end_offsets(settings) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(CONTRACT_EVENTS), p) for p in range(PARTITIONS)]
        return {tp.partition: off for tp, off in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def stored_offsets(engine, settings) -> dict[int, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT partition, next_offset FROM financing.consumer_offsets "
                                       "WHERE consumer = 'financing.contracts' AND topic = :t"),
                                  {"t": settings.topic(CONTRACT_EVENTS)})
        return {r.partition: r.next_offset for r in rows}


async def test_a_killed_worker_s_partitions_go_to_the_other_without_loss_or_double_effect(history_db):
    settings, engine, producer, workers, logs = history_db
    group = f"{settings.topic_prefix}financing.contracts"   # a group of this test's own
    history, published = list(generate(CONTRACTS, seed=23)), Published()
    cut = len(history) * 3 // 5
    await publish(settings, producer, history[:cut], published)

    workers += [start_worker(settings, group, logs / "victim.log", VICTIM_BATCH),
                start_worker(settings, group, logs / "survivor.log", BATCH)]
    victim, survivor = workers
    owned = await eventually(lambda: _split(settings, group, workers), timeout=60,
                             what="both workers owning partitions")
    assert sorted(p for ps in owned.values() for p in ps) == list(range(PARTITIONS))
    await eventually(lambda: _applied_on(engine, settings, owned[victim.pid]), timeout=60,
                     what="the victim's first batch on each of its partitions")
    victim.send_signal(signal.SIGKILL)   # mid-flow: its batch in flight, if any, is rolled back
    victim.wait(30)
    at_kill = await stored_offsets(engine, settings)
    await publish(settings, producer, history[cut:], published)

    async def survivor_owns_all():
        return await assignments(settings, group) == {survivor.pid: set(range(PARTITIONS))}
    await eventually(survivor_owns_all, timeout=90, what="the survivor owning every partition")
    ends = await end_offsets(settings)
    assert sum(ends.values()) == len(published.ids)
    await eventually(lambda: _offsets_at(engine, settings, ends), timeout=120,
                     what="the stored offsets at the end of every partition")
    assert survivor.poll() is None
    assert all(ends[p] > at_kill[p] for p in owned[victim.pid])   # the survivor went on where the victim stopped

    async with engine.connect() as conn:
        applied_ids = [str(r[0]) for r in await conn.execute(text("SELECT event_id FROM financing.contract_events"))]
        versions = dict((await conn.execute(text("SELECT contract_id, version FROM financing.contracts"))).all())
        without_lines = await conn.scalar(text(
            "SELECT count(*) FROM financing.contracts c WHERE NOT EXISTS "
            "(SELECT 1 FROM financing.lines l WHERE l.contract_id = c.contract_id)"))
        streams = dict((await conn.execute(text(
            "SELECT stream_id, version FROM financing.consumer_streams WHERE consumer = 'financing.contracts'"))).all())
    assert len(applied_ids) == len(set(applied_ids)) == len(published.ids)
    assert set(applied_ids) == published.ids                   # none missing, none twice
    assert streams == published.versions                       # every contract applied up to its last event
    assert set(versions) == set(published.versions)            # every contract once (its status version:
    assert all(v <= published.versions[c] for c, v in versions.items())   # the last event that moved it)
    assert without_lines == 0                                  # its funding computed
    assert await _dead_letters(settings) == 0

    # and the same tables as one rebuild of the topic would give
    verified = subprocess.run([sys.executable, "-m", "operations.cli", "ops", "verify", "financing", "--source", "kafka"],
                              capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
                              env={**os.environ, "PARCOURS_DATABASE_URL": settings.database_url,
                                   "PARCOURS_TOPIC_PREFIX": settings.topic_prefix})
    assert verified.returncode == 0, verified.stdout + verified.stderr

    survivor.send_signal(signal.SIGTERM)   # a graceful stop: leaves the group, exits 0
    assert survivor.wait(60) == 0
    assert '"event": "projection_worker.stopped"' in (logs / "survivor.log").read_text()


async def _split(settings, group, workers):
    owned = await assignments(settings, group)
    return owned if set(owned) == {w.pid for w in workers} and all(owned.values()) else None


async def _applied_on(engine, settings, partitions) -> bool:
    stored = await stored_offsets(engine, settings)
    return all(stored.get(p, 0) > 0 for p in partitions)


async def _offsets_at(engine, settings, ends) -> bool:
    stored = await stored_offsets(engine, settings)
    return all(stored.get(p, 0) == end for p, end in ends.items() if end)


async def _dead_letters(settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(dlq(CONTRACT_EVENTS)), p) for p in range(PARTITIONS)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
