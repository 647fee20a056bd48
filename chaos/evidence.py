"""What the trial observes once the load is over: the contracts store, every record of the
contract events topic read from offset 0 under the trial's prefix (and of financing.events: the
webhooks service consumes both), the event ids each projection holds, the records of every DLQ
topic, and what the trial's webhook receiver got. Read-only, on the trial's own stack."""
from __future__ import annotations

import asyncio
import json
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from chaos.checks import Arrival, Evidence, PublishedRecord, StoredEvent
from operations.rebuild import topic_partitions
from shared.db import make_engine
from shared.messaging.topics import CONTRACT_EVENTS, FINANCING_EVENTS
from shared.settings import Settings

PROJECTIONS = {"financing": "financing.contract_events", "quality": "quality.contract_events"}
WEBHOOK_TOPICS = (CONTRACT_EVENTS, FINANCING_EVENTS)   # what services/webhooks/api/app.py consumes


async def stored_events(settings: Settings) -> list[StoredEvent]:
    engine = make_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text(
                "SELECT event_id::text, stream_id, stream_version, type, data->'apprentice'->>'id' "
                "FROM contracts.events WHERE type LIKE 'contract.%' ORDER BY global_position"))
            return [StoredEvent(*r) for r in rows]
    finally:
        await engine.dispose()


async def projected(settings: Settings) -> dict[str, list[str]]:
    engine = make_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            return {name: list((await conn.execute(text(f"SELECT event_id::text FROM {table}"))).scalars())
                    for name, table in PROJECTIONS.items()}
    finally:
        await engine.dispose()


async def read_topic(settings: Settings, topic: str, deadline: float = 60.0) -> list:
    """Every record of ``topic`` from its beginning to its end offsets now (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return []
        tps = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out, end = [], time.monotonic() + deadline
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            if time.monotonic() > end:
                raise TimeoutError(f"reading {topic} took more than {deadline}s")
            for recs in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                out += [r for r in recs if r.offset < ends[TopicPartition(r.topic, r.partition)]]
        return out
    finally:
        await consumer.stop()


def _published(record) -> PublishedRecord:
    ce = json.loads(record.value)
    seq = ce.get("sequence")
    return PublishedRecord(ce.get("id", ""), ce.get("subject", ""), int(seq) if seq is not None else None,
                           record.partition, record.offset, ce.get("source", ""))


async def published(settings: Settings, topic: str = CONTRACT_EVENTS) -> list[PublishedRecord]:
    return [_published(r) for r in await read_topic(settings, settings.topic(topic))]


async def webhook_topics(settings: Settings) -> dict[str, list[PublishedRecord]]:
    """Every record of each topic the webhooks service consumes, by topic (unprefixed name)."""
    found = await asyncio.gather(*(published(settings, t) for t in WEBHOOK_TOPICS))
    return dict(zip(WEBHOOK_TOPICS, found))


async def webhook_topic_ids(settings: Settings) -> frozenset[str]:
    """The event ids on those topics now."""
    return frozenset(r.event_id for records in (await webhook_topics(settings)).values() for r in records)


async def dlq_records(settings: Settings) -> int:
    """Records on every dead letter topic of the trial's prefix."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(settings.topic_prefix) and t.endswith(".dlq")]
    finally:
        await consumer.stop()
    counts = await asyncio.gather(*(read_topic(settings, t) for t in topics))
    return sum(len(c) for c in counts)


async def gather(settings: Settings, verifications: dict[str, bool], arrivals: list[Arrival] = (),
                 not_owed: frozenset[str] = frozenset()) -> Evidence:
    """``arrivals``: what the webhook receiver got; ``not_owed``: the event ids already on the
    webhooks' topics when its endpoint was registered."""
    stored, topics, held, dlq = await asyncio.gather(stored_events(settings), webhook_topics(settings),
                                                     projected(settings), dlq_records(settings))
    return Evidence(stored, topics[CONTRACT_EVENTS], held, dlq, verifications,
                    [r for records in topics.values() for r in records], frozenset(not_owed), list(arrivals))


async def settled(settings: Settings, received: set[str] | None = None,
                  not_owed: frozenset[str] = frozenset()) -> tuple[bool, str]:
    """Whether every stored event is on the topic and in every projection, and (``received``: the
    webhook ids the receiver got) every event on the webhooks' topics but ``not_owed`` reached the
    receiver: what the trial waits for, with a deadline, before it judges."""
    stored = {e.event_id for e in await stored_events(settings)}
    topics = await webhook_topics(settings)
    on_topic = {r.event_id for r in topics[CONTRACT_EVENTS]}
    held = await projected(settings)
    missing = {"topic": len(stored - on_topic), **{n: len(stored - set(ids)) for n, ids in held.items()}}
    if received is not None:
        owed = {r.event_id for records in topics.values() for r in records} - not_owed
        missing["the webhook receiver"] = len(owed - received)
    return not any(missing.values()), ", ".join(f"{n} misses {k}" for n, k in missing.items() if k)
