"""The outbox relay and the consumer runner against real Kafka and PostgreSQL."""
import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text

from shared.envelope import encode
from shared.eventstore.model import NewEvent, StreamAppend
from shared.eventstore.store import EventStore
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.relay import OutboxRelay, make_producer
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from tests.support import eventually

contracts_store = EventStore("contracts")


async def read_topic(settings, topic, expected_at_least):
    consumer = AIOKafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    records = []
    try:
        async def enough():
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            return len(records) >= expected_at_least
        await eventually(enough, timeout=30, what=f"{expected_at_least} records on {topic}")
    finally:
        await consumer.stop()
    return records


def run_relay(settings, crash: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARCOURS_DATABASE_URL": settings.database_url,
           "PARCOURS_TOPIC_PREFIX": settings.topic_prefix, "PARCOURS_RELAY_BATCH_SIZE": "25"}
    env.pop("PARCOURS_RELAY_CRASH_AFTER_PUBLISH", None)
    if crash:
        env["PARCOURS_RELAY_CRASH_AFTER_PUBLISH"] = "1"
    return subprocess.run([sys.executable, "-m", "operations.cli", "relay", "run", "--until-idle"],
                          env=env, capture_output=True, text=True, timeout=120)


async def test_a_relay_killed_after_publishing_loses_and_reorders_nothing(isolated):
    settings, engine = isolated
    apprentices = [f"app-{i}" for i in range(5)]
    order: dict[str, list[str]] = {a: [] for a in apprentices}
    async with engine.begin() as conn:  # 5 apprentices x 12 events, interleaved across streams
        for v in range(12):
            appends = []
            for a in apprentices:
                e = NewEvent("contract.amended", {"v": v}, metadata={"partitionkey": a})
                order[a].append(str(e.event_id))
                appends.append(StreamAppend(f"c-{a}", v, [e]))
            await contracts_store.append(conn, appends)

    killed = run_relay(settings, crash=True)
    assert killed.returncode == 137, killed.stderr  # died after the broker ack, before the checkpoint
    finished = run_relay(settings, crash=False)
    assert finished.returncode == 0, finished.stderr

    records = await read_topic(settings, CONTRACT_EVENTS, 60 + 25)
    assert len(records) == 85  # the first batch of 25 twice: duplicates, absorbed by id downstream
    by_key: dict[str, list[str]] = {}
    for r in records:
        assert dict(r.headers)["content-type"].startswith(b"application/cloudevents+json")
        ce = json.loads(r.value)
        by_key.setdefault(r.key.decode(), []).append(ce["id"])
    for a in apprentices:
        first_seen = list(dict.fromkeys(by_key[a]))
        assert first_seen == order[a]  # nothing lost, nothing of one key reordered


async def test_the_ops_relay_publishes_the_public_data_only_as_the_service_does(isolated):
    """`parcours ops relay run` once published the stored event whole, personal fields included."""
    from contract_events.catalogue import VERSIONS
    from services.contracts.api.examples import SIGN_CERFA
    settings, engine = isolated
    data = {"contract_id": "c-public", **SIGN_CERFA, "apprentice": {**SIGN_CERFA["apprentice"], "id": "app-public"}}
    async with engine.begin() as conn:
        await contracts_store.append(conn, [StreamAppend("c-public", 0, [NewEvent(
            "contract.signed", data, schema_version=VERSIONS["contract.signed"],
            metadata={"partitionkey": "app-public"})])])

    relayed = run_relay(settings, crash=False)
    assert relayed.returncode == 0, relayed.stderr
    (record,) = await read_topic(settings, CONTRACT_EVENTS, 1)
    published = json.loads(record.value)["data"]
    assert published["apprentice"]["id"] == "app-public" and published["training"] == SIGN_CERFA["training"]
    for personal in (SIGN_CERFA["apprentice"]["nir"], "2005-03-14", "lea.martin", "rh@exemple.fr"):
        assert personal not in record.value.decode(), personal


async def test_a_woken_relay_publishes_without_waiting_for_its_poll(isolated):
    """The service wakes its relay after each commit: with an hour between polls, the event still
    reaches Kafka, once, and the relay resumes from its checkpoint kept in memory."""
    settings, engine = isolated
    await ensure_topics(settings, [CONTRACT_EVENTS])
    producer = make_producer(settings.kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, contracts_store, producer, settings.topic(CONTRACT_EVENTS), "/test",
                        idle_seconds=3600)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        for i in range(2):
            async with engine.begin() as conn:
                await contracts_store.append(conn, [StreamAppend(f"c-wake-{i}", 0, [
                    NewEvent("contract.amended", {"i": i}, metadata={"partitionkey": "app-wake"})])])
            relay.wake()
            records = await read_topic(settings, CONTRACT_EVENTS, i + 1)
            assert [json.loads(r.value)["subject"] for r in records] == [f"c-wake-{j}" for j in range(i + 1)]
    finally:
        stop.set()
        await running
        await producer.stop()


class CountingProjection:
    """Counts how many times each subject was applied (double application would show)."""
    name = "test.counting"

    def __init__(self, crash_on: str | None = None, poison_type: str = "test.poison"):
        self.crash_on, self.poison_type = crash_on, poison_type

    async def apply(self, conn, events):
        for ce in events:
            if ce["type"] == self.poison_type:
                raise ValueError("cannot handle this record")
            if ce["id"] == self.crash_on:
                raise KeyboardInterrupt("killed mid-batch")  # a kill: not handled as poison
            await conn.execute(text("INSERT INTO financing.test_counts (subject, n) VALUES (:s, 1) "
                                    "ON CONFLICT (subject) DO UPDATE SET n = test_counts.n + 1"),
                               {"s": ce["subject"]})


def cloudevent(subject, seq, type_="test.happened"):
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/test", "type": type_,
            "subject": subject, "sequence": str(seq), "data": {}}


async def test_consumer_resumes_exactly_where_it_stopped_and_dead_letters_poison(isolated):
    settings, engine = isolated
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE financing.test_counts (subject text PRIMARY KEY, n int)"))
    topic = settings.topic("test.events")
    await ensure_topics(settings, ["test.events", "test.events.dlq"])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    events = [cloudevent(f"s{i}", 1) for i in range(40)]
    events[10] = cloudevent("poison", 1, "test.poison")
    duplicate = dict(events[5])  # republished by a relay: same id and sequence
    try:
        for ce in events + [duplicate]:
            await producer.send_and_wait(topic, encode(ce), key=b"k", partition=0)
        await producer.send_and_wait(topic, b"not json at all", key=b"k", partition=0)
    finally:
        await producer.stop()

    crash_id = events[30]["id"]
    first = ConsumerRunner(engine, "financing", CountingProjection(crash_on=crash_id), [topic],
                           settings.kafka_bootstrap, batch_size=7)
    stop = asyncio.Event()
    with pytest.raises(KeyboardInterrupt):
        await first.run(stop)
    applied_before = await counts(engine)
    assert 0 < len(applied_before) < 39 and set(applied_before.values()) == {1}

    second = ConsumerRunner(engine, "financing", CountingProjection(), [topic], settings.kafka_bootstrap,
                            batch_size=7)
    task = asyncio.create_task(second.run(stop))
    try:
        await eventually(lambda: _has(engine, 39), what="all records applied")
        offsets = await eventually(lambda: _offset_done(second, topic, 42), what="offsets past the last record")
    finally:
        stop.set()
        await task
    final = await counts(engine)
    assert len(final) == 39 and set(final.values()) == {1}  # each applied exactly once, poison skipped
    assert offsets

    dead = await read_topic(settings, "test.events.dlq", 2)
    errors = sorted(dict(r.headers)["dlq.error"].decode() for r in dead)
    assert errors[0].startswith("ValueError: cannot handle") and errors[1].startswith("invalid envelope")


async def counts(engine):
    async with engine.connect() as conn:
        return dict((await conn.execute(text("SELECT subject, n FROM financing.test_counts"))).all())


async def _has(engine, n):
    return len(await counts(engine)) == n


async def _offset_done(runner, topic, n):
    stored = await runner.stored_offsets()
    return any(tp.topic == topic and off == n for tp, off in stored.items())
