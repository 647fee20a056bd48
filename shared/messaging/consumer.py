"""Kafka consumer runner: exactly-once effect over at-least-once delivery.

For each fetched batch, one PostgreSQL transaction applies the events to the projection, the
last applied version of each stream and the next offset of each partition. On start (and on
every partition assignment) the consumer seeks to the offsets stored in PostgreSQL, never to
Kafka's committed offsets. A record that cannot be decoded or applied goes to the DLQ with the
error, and the consumer goes on.

Several processes may share a consumer group (docs/scaling.md, "Projection workers"): a
partition moves between them on a rebalance. The batch in flight commits before its partitions
are given up (the revocation waits for it), and each batch's transaction first locks the stored
offsets of its partitions and drops the records below them: a worker that lost a partition
without knowing it (paused, cut off from the broker) can neither apply a record the new owner
applied nor move an offset backwards.
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import driver_connection
from shared.envelope import InvalidEnvelope, decode
from shared.messaging.consumer_tables import consumer_tables
from shared.messaging.relay import make_producer
from shared.messaging.topics import dlq
from shared.observability import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_DEAD_LETTERED

log = structlog.get_logger("consumer")


class Projection(Protocol):
    name: str

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        """Apply CloudEvents (already deduplicated, in partition order) in ``conn``'s transaction."""


@dataclass
class DeadLetter:
    record: Any
    error: str


def unapplied(batch: dict[TopicPartition, list], stored: dict[TopicPartition, int]) -> dict[TopicPartition, list]:
    """The records of ``batch`` at or past their partition's stored next offset: those below were
    applied already (by this process before a restart, or by another worker of the group)."""
    kept = {tp: [r for r in records if r.offset >= stored.get(tp, 0)] for tp, records in batch.items()}
    return {tp: records for tp, records in kept.items() if records}


class ConsumerRunner:
    def __init__(self, engine: AsyncEngine, schema: str, projection: Projection, topics: list[str],
                 bootstrap: str, *, batch_size: int = 1000, after_batch: Callable[[], None] | None = None,
                 group_id: str | None = None):
        """``after_batch``: called once each batch is committed (a worker of the same process
        acts on what the batch wrote). ``group_id``: the Kafka consumer group, by default the
        projection's name (every process running the projection joins it)."""
        self.engine, self.projection, self.topics = engine, projection, topics
        self.after_batch = after_batch
        self.group_id = group_id or projection.name
        self.processing = asyncio.Lock()   # held by the batch in flight; a revocation waits for it
        self.bootstrap, self.batch_size = bootstrap, batch_size
        self.tables = consumer_tables(schema)
        self.sql = _Statements(self.tables.offsets.fullname, self.tables.streams.fullname)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer = None
        self.applied = asyncio.Condition()
        self.batches = 0

    # -- offsets -------------------------------------------------------------------------------
    async def stored_offsets(self) -> dict[TopicPartition, int]:
        t = self.tables.offsets
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(t.c.topic, t.c.partition, t.c.next_offset)
                                      .where(t.c.consumer == self.projection.name))
        return {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}

    async def _seek_stored(self, partitions) -> None:
        stored = await self.stored_offsets()
        for tp in partitions:
            if tp in stored:
                self.consumer.seek(tp, stored[tp])
            else:
                await self.consumer.seek_to_beginning(tp)

    # -- processing ----------------------------------------------------------------------------
    async def process(self, batch: dict[TopicPartition, list]) -> list[DeadLetter]:
        """Apply one fetched batch in one transaction; returns the records sent to the DLQ."""
        async with self.processing:
            return await self._process(batch)

    async def _process(self, batch: dict[TopicPartition, list]) -> list[DeadLetter]:
        dead: list[DeadLetter] = []
        name, sql = self.projection.name, self.sql
        async with self.engine.begin() as conn:
            # the runner's own statements on the driver's connection, in the batch's transaction:
            # texts prepared once per connection, no SQLAlchemy compile per batch
            apg = await driver_connection(conn)
            fetched = sum(len(records) for records in batch.values())
            batch = unapplied(batch, await self._lock_offsets(apg, [tp for tp, recs in batch.items() if recs]))
            decoded: list[tuple[Any, dict]] = []
            for tp, records in batch.items():
                for rec in records:
                    try:
                        decoded.append((rec, decode(rec.value)))
                    except InvalidEnvelope as exc:
                        dead.append(DeadLetter(rec, f"invalid envelope: {exc}"))
            if (dropped := fetched - sum(len(records) for records in batch.values())):
                log.info("consumer.already_applied", consumer=name, records=dropped)
            subjects = list({ce.get("subject") or "" for _, ce in decoded})
            seen: dict[str, int] = {}
            if subjects:
                seen = {r[0]: r[1] for r in await apg.fetch(sql.seen, name, subjects)}
            fresh: list[tuple[Any, dict]] = []
            for rec, ce in decoded:
                seq = _sequence(ce)
                subject = ce.get("subject") or ""
                if seq is not None and seq <= seen.get(subject, 0):
                    continue  # a duplicate (republished by the relay): already applied
                if seq is not None:
                    if seq > seen.get(subject, 0) + 1:
                        log.warning("consumer.stream_gap", subject=subject, expected=seen.get(subject, 0) + 1, got=seq)
                    seen[subject] = seq
                fresh.append((rec, ce))
            dead += await self._apply(conn, fresh)
            if batch:   # the streams' versions and the partitions' next offsets in one statement
                parts = list(batch.items())
                await apg.execute(sql.save, name, list(seen), list(seen.values()), [tp.topic for tp, _ in parts],
                                  [tp.partition for tp, _ in parts], [recs[-1].offset + 1 for _, recs in parts])
            if dead:
                await self._dead_letter(dead)
        EVENTS_CONSUMED.labels(name).inc(len(decoded) - len(dead))
        if self.after_batch:
            self.after_batch()
        async with self.applied:
            self.batches += 1
            self.applied.notify_all()
        return dead

    async def _lock_offsets(self, apg, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Lock the stored offset rows of ``partitions`` until the transaction ends (a missing row
        is inserted at 0 first, so that it can be locked too) and return their next offsets. Rows
        are taken in one order, (topic, partition), by every worker: no deadlock between them."""
        if not partitions:
            return {}
        keys = sorted({(tp.topic, tp.partition) for tp in partitions})
        topics, numbers = [t for t, _ in keys], [p for _, p in keys]
        await apg.execute(self.sql.add_offsets, self.projection.name, topics, numbers)
        rows = await apg.fetch(self.sql.lock_offsets, self.projection.name, topics, numbers)
        return {TopicPartition(r[0], r[1]): r[2] for r in rows}

    async def _apply(self, conn: AsyncConnection, items: list[tuple[Any, dict]]) -> list[DeadLetter]:
        if not items:
            return []
        try:
            async with conn.begin_nested():
                await self.projection.apply(conn, [ce for _, ce in items])
            return []
        except Exception:  # isolate the poison record(s): apply one by one
            pass
        dead = []
        for rec, ce in items:
            try:
                async with conn.begin_nested():
                    await self.projection.apply(conn, [ce])
            except Exception as exc:
                log.warning("consumer.poison_record", consumer=self.projection.name, topic=rec.topic,
                            partition=rec.partition, offset=rec.offset, error=repr(exc)[:500])
                dead.append(DeadLetter(rec, f"{type(exc).__name__}: {exc}"[:2000]))
        return dead

    async def _dead_letter(self, dead: list[DeadLetter]) -> None:
        if self.producer is None:
            self.producer = make_producer(self.bootstrap)
            await self.producer.start()
        futures = []
        for d in dead:
            r = d.record
            headers = list(r.headers or []) + [
                ("dlq.error", d.error.encode()), ("dlq.consumer", self.projection.name.encode()),
                ("dlq.source", json.dumps({"topic": r.topic, "partition": r.partition,
                                           "offset": r.offset}).encode())]
            futures.append(await self.producer.send(dlq(r.topic), r.value, key=r.key, headers=headers))
        await asyncio.gather(*futures)
        EVENTS_DEAD_LETTERED.labels(self.projection.name).inc(len(dead))

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        runner = self

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                async with runner.processing:   # the batch in flight commits before they move
                    pass
                if revoked:
                    log.info("consumer.revoked", consumer=runner.projection.name, partitions=_names(revoked))

            async def on_partitions_assigned(self, assigned):
                await runner._seek_stored(assigned)
                log.info("consumer.assigned", consumer=runner.projection.name, partitions=_names(assigned))

        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group_id,
            client_id=f"{self.projection.name}.{os.getpid()}",   # which process owns what (describe group)
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            max_partition_fetch_bytes=4 * 1024 * 1024)
        self.consumer.subscribe(self.topics, listener=Listener())
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer:
            await self.consumer.stop()
        if self.producer:
            await self.producer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            while not stop.is_set():
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                if batch:
                    await self.process(batch)
                    self._report_lag(batch)
        finally:
            await self.stop()

    def _report_lag(self, batch) -> None:
        for tp, recs in batch.items():
            hw = self.consumer.highwater(tp)
            if hw is not None and recs:
                CONSUMER_LAG.labels(self.projection.name, tp.topic, tp.partition).set(hw - recs[-1].offset - 1)


class _Statements:
    """The runner's SQL on its two tables, as asyncpg runs it (array parameters: one text whatever
    the batch's size)."""

    def __init__(self, offsets: str, streams: str):
        self.add_offsets = (f"INSERT INTO {offsets} (consumer, topic, partition, next_offset) SELECT $1, t, p, 0 "
                            "FROM unnest($2::text[], $3::int[]) AS u(t, p) ON CONFLICT DO NOTHING")
        self.lock_offsets = (f"SELECT topic, partition, next_offset FROM {offsets} WHERE consumer = $1 AND "
                             "(topic, partition) IN (SELECT t, p FROM unnest($2::text[], $3::int[]) AS u(t, p)) "
                             "ORDER BY topic, partition FOR UPDATE")
        self.seen = f"SELECT stream_id, version FROM {streams} WHERE consumer = $1 AND stream_id = ANY($2::text[])"
        # two tables, rows of their own: that both writes see one snapshot does not matter
        self.save = (f"WITH versions AS (INSERT INTO {streams} (consumer, stream_id, version) SELECT $1, s, v "
                     "FROM unnest($2::text[], $3::int[]) AS u(s, v) ON CONFLICT (consumer, stream_id) "
                     "DO UPDATE SET version = excluded.version) "
                     f"INSERT INTO {offsets} AS o (consumer, topic, partition, next_offset) SELECT $1, t, p, n "
                     "FROM unnest($4::text[], $5::int[], $6::bigint[]) AS u(t, p, n) "
                     "ON CONFLICT (consumer, topic, partition) DO UPDATE "
                     "SET next_offset = greatest(o.next_offset, excluded.next_offset)")   # never backwards


def _names(partitions) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)


def _sequence(ce: dict) -> int | None:
    try:
        return int(ce["sequence"])
    except (KeyError, TypeError, ValueError):
        return None
