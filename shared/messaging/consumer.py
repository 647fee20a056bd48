"""Kafka consumer runner: exactly-once effect over at-least-once delivery.

For each fetched batch, one PostgreSQL transaction applies the events to the projection, the
last applied version of each stream and the next offset of each partition. On start (and on
every partition assignment) the consumer seeks to the offsets stored in PostgreSQL, never to
Kafka's committed offsets. A record that cannot be decoded or applied goes to the DLQ with the
error, and the consumer goes on.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


class ConsumerRunner:
    def __init__(self, engine: AsyncEngine, schema: str, projection: Projection, topics: list[str],
                 bootstrap: str, *, batch_size: int = 1000, after_batch: Callable[[], None] | None = None):
        """``after_batch``: called once each batch is committed (a worker of the same process
        acts on what the batch wrote)."""
        self.engine, self.projection, self.topics = engine, projection, topics
        self.after_batch = after_batch
        self.bootstrap, self.batch_size = bootstrap, batch_size
        self.tables = consumer_tables(schema)
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
        dead: list[DeadLetter] = []
        decoded: list[tuple[Any, dict]] = []
        for tp, records in batch.items():
            for rec in records:
                try:
                    decoded.append((rec, decode(rec.value)))
                except InvalidEnvelope as exc:
                    dead.append(DeadLetter(rec, f"invalid envelope: {exc}"))
        st, ot = self.tables.streams, self.tables.offsets
        async with self.engine.begin() as conn:
            subjects = list({ce.get("subject") or "" for _, ce in decoded})
            seen: dict[str, int] = {}
            if subjects:
                rows = await conn.execute(select(st.c.stream_id, st.c.version).where(
                    st.c.consumer == self.projection.name, st.c.stream_id.in_(subjects)))
                seen = {r.stream_id: r.version for r in rows}
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
            if seen:
                stmt = insert(st).values([{"consumer": self.projection.name, "stream_id": s, "version": v}
                                          for s, v in seen.items()])
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[st.c.consumer, st.c.stream_id], set_={"version": stmt.excluded.version}))
            if batch:
                stmt = insert(ot).values([{"consumer": self.projection.name, "topic": tp.topic,
                                           "partition": tp.partition, "next_offset": recs[-1].offset + 1}
                                          for tp, recs in batch.items() if recs])
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[ot.c.consumer, ot.c.topic, ot.c.partition],
                    set_={"next_offset": stmt.excluded.next_offset}))
            if dead:
                await self._dead_letter(dead)
        EVENTS_CONSUMED.labels(self.projection.name).inc(len(decoded) - len(dead))
        if self.after_batch:
            self.after_batch()
        async with self.applied:
            self.batches += 1
            self.applied.notify_all()
        return dead

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
                pass

            async def on_partitions_assigned(self, assigned):
                await runner._seek_stored(assigned)

        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.projection.name,
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


def _sequence(ce: dict) -> int | None:
    try:
        return int(ce["sequence"])
    except (KeyError, TypeError, ValueError):
        return None
