"""Rebuild a projection into fresh tables while the live ones keep serving; compare; swap.

Each batch is applied through the projection's own code on a connection whose schema is
translated to the rebuild schema, and the source position is stored in the same transaction:
an interrupted rebuild resumes where it stopped."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from operations.projections import ProjectionSpec
from contract_events.publication import public_data
from shared.envelope import decode, to_cloudevent
from shared.eventstore.model import Cursor
from shared.eventstore.store import EventStore
from shared.settings import Settings

CRASH_ENV = "PARCOURS_REBUILD_CRASH_AFTER_BATCHES"  # fault injection for the interruption test
Progress = Callable[[int, int | None], None]       # (events done in this batch, total when known)


def target_schema(spec: ProjectionSpec, purpose: str = "rebuild") -> str:
    return f"{spec.schema}_{purpose}"


async def _exists(conn: AsyncConnection, schema: str) -> bool:
    return bool(await conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}))


async def prepare(engine: AsyncEngine, spec: ProjectionSpec, target: str, source: str) -> dict | None:
    """Create the target tables, or resume: returns the stored position of an unfinished rebuild
    from the same source (None: starting afresh)."""
    async with engine.begin() as conn:
        if await _exists(conn, target):
            row = (await conn.execute(text(f"SELECT source, position, complete FROM {target}._rebuild_progress"))).first()
            if row is not None and row.source == source and not row.complete:
                return row.position
            await conn.execute(text(f"DROP SCHEMA {target} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {target}"))
        for table in list(spec.tables) + spec.copied:
            await conn.execute(text(f"CREATE TABLE {target}.{table} (LIKE {spec.schema}.{table} INCLUDING ALL)"))
        for table in spec.copied:
            await conn.execute(text(f"INSERT INTO {target}.{table} SELECT * FROM {spec.schema}.{table}"))
        await conn.execute(text(f"CREATE TABLE {target}._rebuild_progress (source text, position jsonb, "
                                "complete boolean NOT NULL DEFAULT false)"))
        await conn.execute(text(f"INSERT INTO {target}._rebuild_progress VALUES (:s, NULL, false)"), {"s": source})
    return None


async def _apply(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, events: list[dict],
                 position: dict) -> None:
    async with engine.begin() as raw:
        conn = await raw.execution_options(schema_translate_map={spec.schema: target})
        if events:
            await projection.apply(conn, events)
        await raw.execute(text(f"UPDATE {target}._rebuild_progress SET position = CAST(:p AS jsonb)"),
                          {"p": json.dumps(position)})


class _Crash:
    def __init__(self):
        self.left = int(os.environ.get(CRASH_ENV, "0") or 0)

    def tick(self) -> None:
        if self.left:
            self.left -= 1
            if not self.left:
                os._exit(137)


async def from_kafka(engine: AsyncEngine, spec: ProjectionSpec, target: str, settings: Settings,
                     resume: dict | None, progress: Progress, until: dict[int, int] | None = None,
                     batch: int = 5000) -> int:
    """Consume the topic from offset 0 (or the stored offsets) up to ``until`` (default: the end
    offsets when the rebuild started)."""
    topic = settings.topic(spec.topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                group_id=None, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    done, crash, projection = 0, _Crash(), spec.projection()
    try:
        parts = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
        consumer.assign(parts)
        ends = until or {tp.partition: off for tp, off in (await consumer.end_offsets(parts)).items()}
        position = {int(k): v for k, v in (resume or {}).items()}
        for tp in parts:
            consumer.seek(tp, position.get(tp.partition, 0))
        remaining = {p for p in ends if position.get(p, 0) < ends[p]}
        progress(0, sum(ends[p] - position.get(p, 0) for p in ends))
        while remaining:
            fetched = await consumer.getmany(*[tp for tp in parts if tp.partition in remaining],
                                             timeout_ms=1000, max_records=batch)
            events = []
            for tp, records in fetched.items():
                for r in records:
                    if r.offset < ends[tp.partition]:
                        events.append(decode(r.value))
                        position[tp.partition] = r.offset + 1
                if position.get(tp.partition, 0) >= ends[tp.partition]:
                    remaining.discard(tp.partition)
            await _apply(engine, spec, target, projection, events, position)
            done += len(events)
            progress(len(events), None)
            crash.tick()
    finally:
        await consumer.stop()
    await _complete(engine, target)
    return done


async def topic_partitions(settings: Settings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for d in described if d.get("topic") == topic and not d.get("error_code")
                        for p in d.get("partitions", []))
    if not partitions:
        raise RuntimeError(f"topic {topic} does not exist")
    return partitions


async def from_feed(engine: AsyncEngine, spec: ProjectionSpec, target: str, resume: dict | None,
                    progress: Progress, source: str = "/parcours/contracts", batch: int = 5000) -> int:
    """Read the owning service's log in commit order (gap-free) from the start or the stored cursor."""
    store = EventStore(spec.feed_store)
    cursor = Cursor(int(resume["tx"]), int(resume["pos"])) if resume else Cursor()
    async with engine.connect() as conn:
        total = await conn.scalar(text(f"SELECT count(*) FROM {spec.feed_store}.events WHERE global_position > :p"),
                                  {"p": cursor.global_position})
    progress(0, total)
    done, crash, projection = 0, _Crash(), spec.projection()

    async def read(after: Cursor):
        async with engine.connect() as conn:
            recorded = await store.read_all(conn, after, batch)
        # as the owning service publishes them: without personal fields (contract_events.publication)
        return recorded, [to_cloudevent(e, source, publishable=public_data) for e in recorded]

    upcoming = asyncio.create_task(read(cursor))
    try:
        while True:
            recorded, events = await upcoming
            if not recorded:
                break
            cursor = recorded[-1].cursor
            upcoming = asyncio.create_task(read(cursor))  # the next batch is read while this one is applied
            await _apply(engine, spec, target, projection, events,
                         {"tx": str(cursor.transaction_id), "pos": cursor.global_position})
            done += len(recorded)
            progress(len(recorded), None)
            crash.tick()
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upcoming
    await _complete(engine, target)
    return done


async def _complete(engine: AsyncEngine, target: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE {target}._rebuild_progress SET complete = true"))


async def live_offsets(engine: AsyncEngine, spec: ProjectionSpec, settings: Settings) -> dict[int, int]:
    """Where the live consumer stands: a verify from Kafka reads exactly that far."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT partition, next_offset FROM {spec.schema}.consumer_offsets "
                                       "WHERE consumer = :c AND topic = :t"),
                                  {"c": spec.consumer, "t": settings.topic(spec.topic)})
        return {r.partition: r.next_offset for r in rows}


@dataclass
class TableReport:
    table: str
    live_rows: int
    rebuilt_rows: int
    live_hash: str
    rebuilt_hash: str
    differing_keys: list[str]

    @property
    def equal(self) -> bool:
        return self.live_rows == self.rebuilt_rows and self.live_hash == self.rebuilt_hash


async def _columns(conn: AsyncConnection, schema: str, table: str, volatile: list[str]) -> list[str]:
    rows = await conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                                   "AND table_name = :t ORDER BY ordinal_position"), {"s": schema, "t": table})
    return [r[0] for r in rows if r[0] not in volatile]


async def compare(engine: AsyncEngine, spec: ProjectionSpec, target: str, limit: int = 20) -> list[TableReport]:
    reports = []
    async with engine.connect() as conn:
        for table, keys in spec.tables.items():
            cols = ", ".join(await _columns(conn, spec.schema, table, spec.volatile.get(table, [])))
            key = ", ".join(keys)

            async def digest(schema: str):
                return (await conn.execute(text(
                    f"SELECT count(*), coalesce(md5(string_agg(r, '' ORDER BY r)), '') FROM "
                    f"(SELECT md5(ROW({cols})::text) AS r FROM {schema}.{table}) x"))).first()
            live, rebuilt = await digest(spec.schema), await digest(target)
            differing: list[str] = []
            if tuple(live) != tuple(rebuilt):
                rows = await conn.execute(text(
                    f"(SELECT {key} FROM (SELECT {cols} FROM {spec.schema}.{table} EXCEPT "
                    f"SELECT {cols} FROM {target}.{table}) a) UNION "
                    f"(SELECT {key} FROM (SELECT {cols} FROM {target}.{table} EXCEPT "
                    f"SELECT {cols} FROM {spec.schema}.{table}) b) LIMIT {limit}"))
                differing = ["/".join(str(v) for v in r) for r in rows]
            reports.append(TableReport(table, live[0], rebuilt[0], live[1], rebuilt[1], differing))
    return reports


async def swap(engine: AsyncEngine, spec: ProjectionSpec, target: str) -> int:
    """Make the rebuilt tables live in one transaction; the old ones go to ``<schema>_previous``.
    Events the live projection received meanwhile are applied to the rebuilt tables first."""
    previous = target_schema(spec, "previous")
    tables = list(spec.tables)
    async with engine.begin() as raw:
        await raw.execute(text("LOCK TABLE " + ", ".join(f"{spec.schema}.{t}" for t in tables) +
                               " IN ACCESS EXCLUSIVE MODE"))
        missing = await raw.execute(text(
            f"SELECT {spec.late_columns} FROM {spec.schema}.contract_events l "
            f"LEFT JOIN {target}.contract_events r USING (event_id) WHERE r.event_id IS NULL ORDER BY l.arrival"))
        late = [{"id": str(m.id), "type": m.type, "subject": m.subject, "data": m.data, "time": m.time.isoformat(),
                 "partitionkey": m.partitionkey, "sequence": str(m.sequence) if m.sequence is not None else None}
                for m in missing]
        if late:
            conn = await raw.execution_options(schema_translate_map={spec.schema: target})
            await spec.projection().apply(conn, late)
        await raw.execute(text(f"DROP SCHEMA IF EXISTS {previous} CASCADE"))
        await raw.execute(text(f"CREATE SCHEMA {previous}"))
        for t in tables:
            await raw.execute(text(f"ALTER TABLE {spec.schema}.{t} SET SCHEMA {previous}"))
            await raw.execute(text(f"ALTER TABLE {target}.{t} SET SCHEMA {spec.schema}"))
        await raw.execute(text(f"DROP SCHEMA {target} CASCADE"))
    return len(late)


async def drop_previous(engine: AsyncEngine, spec: ProjectionSpec) -> bool:
    async with engine.begin() as conn:
        existed = await _exists(conn, target_schema(spec, "previous"))
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {target_schema(spec, 'previous')} CASCADE"))
    return existed
