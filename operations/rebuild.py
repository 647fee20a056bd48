"""Rebuild a projection into fresh tables while the live ones keep serving; compare; swap.

Each batch is applied through the projection's own code on a connection whose schema is
translated to the rebuild schema, and the source position is stored in the same transaction:
an interrupted rebuild resumes where it stopped.

A projection may also keep rows folded from its service's own events (financing's money loop:
invoices, payments, regularisations, document numbers): those are rebuilt from that store, the
source of truth, in commit order, whatever the source of the rest (``from_ledger``)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Text, cast, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kernel.collection import collect_young, collection_paused
from operations.projections import ProjectionSpec
from contract_events.publication import public_data
from shared.envelope import decode, to_cloudevent
from shared.eventstore.horizon import SETTLED_HORIZON
from shared.eventstore.model import Cursor, RecordedEvent
from shared.db import asyncpg_dsn, driver_connection
from shared.eventstore.feed_reader import FeedReader
from shared.eventstore.store import EventStore, committed_after
from shared.observability import peak_rss_mib
from shared.settings import Settings

CRASH_ENV = "PARCOURS_REBUILD_CRASH_AFTER_BATCHES"  # fault injection for the interruption test
PATHS_PER_CHUNK = 2000   # apprentice paths computed and written per transaction (a bulk rebuild's phase 2)
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
            await conn.execute(text(f"CREATE TABLE IF NOT EXISTS {target}._rebuild_ledger (position jsonb, "
                                    "complete boolean NOT NULL DEFAULT false)"))
            ledger_done = await conn.scalar(text(f"SELECT complete FROM {target}._rebuild_ledger"))
            if row is not None and row.source == source and not (row.complete and (ledger_done or not spec.ledger)):
                return row.position
            await conn.execute(text(f"DROP SCHEMA {target} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {target}"))
        for table in list(spec.tables) + spec.copied:
            await conn.execute(text(f"CREATE TABLE {target}.{table} (LIKE {spec.schema}.{table} "
                                    "INCLUDING ALL EXCLUDING INDEXES)"))
        for table in spec.copied:
            await conn.execute(text(f"INSERT INTO {target}.{table} SELECT * FROM {spec.schema}.{table}"))
        await conn.execute(text(f"CREATE TABLE {target}._rebuild_progress (source text, position jsonb, "
                                "complete boolean NOT NULL DEFAULT false)"))
        await conn.execute(text(f"INSERT INTO {target}._rebuild_progress VALUES (:s, NULL, false)"), {"s": source})
        await conn.execute(text(f"CREATE TABLE {target}._rebuild_ledger (position jsonb, "
                                "complete boolean NOT NULL DEFAULT false)"))
        apg = await driver_connection(conn)
        await _keep_indexes(apg, spec, target)
        loaded = [t for phase in spec.loaded for t in phase]
        await _make_indexes(apg, target, [t for t in list(spec.tables) + spec.copied if t not in loaded])
    return None


# The live tables' indexes (and the keys they back), made on the rebuilt tables under the same
# names, so that a swap leaves the live schema's index names as its migrations made them. A bulk
# rebuild loads its tables (``ProjectionSpec.loaded``) without them, and makes them once a table
# is loaded: one sort each instead of a b-tree insertion per row and index.
_LIVE_INDEXES = """SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid), c.conname, c.contype::text
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = t.oid AND c.contype IN ('p', 'u')
WHERE n.nspname = $1 AND t.relname = ANY($2::text[]) ORDER BY t.relname, i.relname"""
_INDEX_ON = re.compile(r"(?P<head>CREATE (?:UNIQUE )?INDEX \S+ ON )\S+(?P<tail> USING .*)", re.DOTALL)
_CONSTRAINTS = {"p": "PRIMARY KEY", "u": "UNIQUE"}   # what an index backs again (ADD ... USING INDEX)


async def _keep_indexes(apg: asyncpg.Connection, spec: ProjectionSpec, target: str) -> None:
    """The live tables' index definitions, on the rebuilt tables, kept in ``_rebuild_indexes``
    until made (``_make_indexes``)."""
    await apg.execute(f"CREATE TABLE {target}._rebuild_indexes (table_name text NOT NULL, index_name text "
                      "PRIMARY KEY, definition text NOT NULL, constraint_name text, constraint_type text)")
    rows = []
    for table, index, definition, constraint, kind in await apg.fetch(
            _LIVE_INDEXES, spec.schema, list(spec.tables) + spec.copied):
        made = _INDEX_ON.fullmatch(definition)   # the table named as the search path shows it: replaced
        if made is None:
            raise RuntimeError(f"unexpected definition of the index {index}: {definition}")
        rows.append((table, index, f"{made['head']}{target}.{table}{made['tail']}", constraint, kind))
    await apg.executemany(f"INSERT INTO {target}._rebuild_indexes VALUES ($1, $2, $3, $4, $5)", rows)


async def _make_indexes(apg: asyncpg.Connection, target: str, tables: list[str] | tuple[str, ...]) -> None:
    """The indexes kept for ``tables`` made (and the keys they back), and forgotten, in ``apg``'s
    transaction."""
    if not await apg.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{target}._rebuild_indexes"):
        return   # a rebuild prepared before the indexes were kept (its tables have them)
    for table, index, definition, constraint, kind in await apg.fetch(
            f"SELECT table_name, index_name, definition, constraint_name, constraint_type FROM "
            f"{target}._rebuild_indexes WHERE table_name = ANY($1::text[]) ORDER BY index_name", list(tables)):
        await apg.execute(definition)
        if constraint:
            await apg.execute(f"ALTER TABLE {target}.{table} ADD CONSTRAINT {constraint} {_CONSTRAINTS[kind]} "
                              f"USING INDEX {index}")
        await apg.execute(f"DELETE FROM {target}._rebuild_indexes WHERE index_name = $1", index)


async def _build_indexes(engine: AsyncEngine, target: str, tables: tuple[str, ...]) -> None:
    """The indexes of loaded ``tables``, in one transaction (an interrupted rebuild makes them
    when it resumes)."""
    if tables:
        async with engine.begin() as conn:
            await _make_indexes(await driver_connection(conn), target, tables)


async def _apply(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, events: list[dict],
                 position: dict) -> None:
    """One batch and the source position, in one transaction: through the projection's bulk store
    when it has one (phase 1: stored, computed once the log is whole), else its own ``apply``."""
    async with engine.begin() as raw:
        if events and spec.make_bulk is not None:
            await projection.store(await driver_connection(raw), target, events)   # COPY, in this transaction
        elif events:
            await projection.apply(await raw.execution_options(schema_translate_map={spec.schema: target}), events)
        # merged, last: processes storing other partitions update the same row, each for a moment
        await raw.execute(text(f"UPDATE {target}._rebuild_progress SET position = "
                               "coalesce(position, '{}'::jsonb) || CAST(:p AS jsonb)"), {"p": json.dumps(position)})


def _projection(spec: ProjectionSpec):
    return spec.make_bulk() if spec.make_bulk is not None else spec.projection()


async def _in_processes(projection, work, argsets: list[tuple]) -> int:
    """``work(*args)`` for each argument set, each in a process of its own (spawned: nothing of this
    process's connections is inherited); returns the sum of their counts, and keeps on the
    projection the largest sum of their peak memories over the phases (a benchmark reports it)."""
    if not argsets:
        return 0
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=len(argsets), mp_context=multiprocessing.get_context("spawn")) as pool:
        results = await asyncio.gather(*(loop.run_in_executor(pool, work, *args) for args in argsets))
    projection.workers_peak_mib = max(projection.workers_peak_mib or 0, sum(peak for _, peak in results))
    return sum(n for n, _ in results)


async def compute_paths(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, workers: int = 1,
                        progress: Progress | None = None, chunk: int = PATHS_PER_CHUNK) -> int:
    """Phase 2 of a bulk rebuild: every path computed once, the work split in ``workers`` shares
    run by as many processes (one: in this process). Returns the paths computed."""
    if spec.make_bulk is None:
        return 0
    from services.financing.adapters.bulk_rebuild import compute_share, prepare_shares, run_share
    url = engine.url.render_as_string(hide_password=False)
    shares = await prepare_shares(url, target, workers)
    if progress:
        progress(0, None)
    if workers == 1:
        done = sum([await compute_share(url, target, k, 1, projection.today, chunk) for k in shares])
    else:
        done = await _in_processes(projection, run_share, [(url, target, k, workers, projection.today, chunk)
                                                           for k in shares])
    if progress:
        progress(done, None)
    return done


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
                     batch: int = 5000, workers: int = 1, paths: Progress | None = None,
                     stats: dict | None = None, chunk: int = PATHS_PER_CHUNK) -> int:
    """Consume the topic from offset 0 (or the stored offsets) up to ``until`` (default: the end
    offsets when the rebuild started), then compute the paths (``compute_paths``). With several
    ``workers`` (and a bulk projection), the partitions are split between as many processes,
    each storing its partitions' events and offsets."""
    topic = settings.topic(spec.topic)
    partitions = await topic_partitions(settings, topic)
    ends = until or await _end_offsets(settings.kafka_bootstrap, topic, partitions)
    position = {int(k): v for k, v in (resume or {}).items()}
    progress(0, sum(ends[p] - position.get(p, 0) for p in ends))
    projection = _projection(spec)
    groups = [g for g in (partitions[k::workers] for k in range(workers)) if g]
    if spec.make_bulk is not None and len(groups) > 1:
        url = engine.url.render_as_string(hide_password=False)
        done = await _in_processes(projection, _consume_partitions, [
            (url, settings.kafka_bootstrap, spec.name, target, topic, {p: ends[p] for p in g if p in ends},
             {p: position.get(p, 0) for p in g}, batch) for g in groups])
        progress(done, None)
    else:
        done = await _consume(engine, spec, target, projection, settings.kafka_bootstrap, topic, ends, position,
                              batch, progress)
    await _finish(engine, spec, target, projection, workers, paths, chunk, stats)
    return done


async def _end_offsets(bootstrap: str, topic: str, partitions: list[int]) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def _consume(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, bootstrap: str, topic: str,
                   ends: dict[int, int], position: dict[int, int], batch: int, progress: Progress) -> int:
    """These partitions (``ends``' keys) from ``position`` to ``ends``, a transaction per batch."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    done, crash = 0, _Crash()
    try:
        parts = [TopicPartition(topic, p) for p in ends]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, position.get(tp.partition, 0))
        remaining = {p for p in ends if position.get(p, 0) < ends[p]}
        with collection_paused():   # the collector once per batch, as from the feed
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
                await _apply(engine, spec, target, projection, events,
                             {p: position[p] for p in ends if p in position})
                done += len(events)
                progress(len(events), None)
                crash.tick()
                del fetched, events
                collect_young()
    finally:
        await consumer.stop()
    return done


def _consume_partitions(database_url: str, bootstrap: str, spec_name: str, target: str, topic: str,
                        ends: dict[int, int], position: dict[int, int], batch: int) -> tuple[int, float]:
    """Some partitions in a process of their own (``--workers``): the events stored and the
    process's peak resident memory in MiB."""
    from operations.projections import SPECS
    from shared.db import make_engine

    async def run() -> int:
        spec = SPECS[spec_name]
        engine = make_engine(Settings(database_url=database_url), pool_size=1)
        try:
            return await _consume(engine, spec, target, _projection(spec), bootstrap, topic, ends, position, batch,
                                  lambda *_: None)
        finally:
            await engine.dispose()
    done = asyncio.run(run())
    return done, peak_rss_mib()


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


async def _feed_connection(database_url: str) -> asyncpg.Connection:
    """The feed's reading connection, of its own (outside the pool and its transactions)."""
    return await asyncpg.connect(asyncpg_dsn(database_url), server_settings={"application_name": "parcours-rebuild"})


async def _set_position(engine: AsyncEngine, target: str, position: dict) -> None:
    """The rebuild's source position replaced whole (``_apply`` merges a batch's into it)."""
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE {target}._rebuild_progress SET position = CAST(:p AS jsonb)"),
                           {"p": json.dumps(position)})


def _cursor(position: dict) -> Cursor:
    return Cursor(int(position["tx"]), int(position["pos"]))


def _position(cursor: Cursor) -> dict:
    return {"tx": str(cursor.transaction_id), "pos": cursor.global_position}


async def from_feed(engine: AsyncEngine, spec: ProjectionSpec, target: str, resume: dict | None,
                    progress: Progress, source: str = "/parcours/contracts", batch: int = 5000,
                    workers: int = 1, paths: Progress | None = None, stats: dict | None = None,
                    chunk: int = PATHS_PER_CHUNK) -> int:
    """Read the owning service's log in commit order (gap-free) from the start or the stored
    cursor, then compute the paths (``compute_paths``).

    With several ``workers`` (and a bulk projection), the events settled when the rebuild starts
    (up to ``end``, the last of them) are stored by as many processes, each reading the log in
    commit order for the keys (apprentices) of its share, as the paths' phase splits them: the
    events of a path keep their order. Each stores its own cursor (``r<k>`` in the position, beside
    ``end`` and ``shares``), so an interrupted rebuild resumes each share, whatever ``workers``
    says then; once they are all stored, the position is ``end`` and this process reads on."""
    cursor = _cursor(resume) if resume and "tx" in resume else Cursor()
    async with engine.connect() as conn:
        total = await conn.scalar(text(f"SELECT count(*) FROM {spec.feed_store}.events WHERE global_position > :p"),
                                  {"p": cursor.global_position})
    progress(0, total)
    projection = _projection(spec)
    # the store's commit-order read (EventStore.read_all) on a connection of its own, without
    # SQLAlchemy's row processing, the JSON parsed by orjson (shared/eventstore/feed_reader.py)
    feed = FeedReader(spec.feed_store)
    url = engine.url.render_as_string(hide_password=False)
    apg = await _feed_connection(url)
    done = 0
    try:
        plan = resume if resume and "end" in resume else None
        if plan is None and spec.make_bulk is not None and workers > 1 \
                and (end := await feed.settled_end(apg, cursor)) is not None:
            plan = {**_position(cursor), "end": _position(end), "shares": workers,
                    **{f"r{k}": _position(cursor) for k in range(workers)}}
            await _set_position(engine, target, plan)
        if plan is not None:
            end = _cursor(plan["end"])
            done += await _in_processes(projection, _store_share, [
                (url, spec.name, target, source, k, plan["shares"], plan[f"r{k}"], plan["end"], batch)
                for k in range(plan["shares"]) if _cursor(plan[f"r{k}"]) < end])
            progress(done, None)
            await _set_position(engine, target, _position(end))   # every share stored up to end: one cursor again
            cursor = end
        done += await _read_feed(engine, spec, target, projection, apg, feed, source, cursor, batch, progress,
                                 _position)
    finally:
        await apg.close()
    await _finish(engine, spec, target, projection, workers, paths, chunk, stats)
    return done


async def _read_feed(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, apg: asyncpg.Connection,
                     feed: FeedReader, source: str, cursor: Cursor, batch: int, progress: Progress,
                     position: Callable[[Cursor], dict], until: Cursor | None = None,
                     share: tuple[int, int] | None = None) -> int:
    """The log from ``cursor`` (to ``until`` included, for the keys of ``share``, when given), a
    transaction per batch, each storing ``position(cursor)`` with its events; the events read."""
    done, crash = 0, _Crash()

    async def read(after: Cursor):
        recorded = await feed.read(apg, after, batch, until, share)
        # as the owning service publishes them: without personal fields (contract_events.publication)
        return recorded, [to_cloudevent(e, source, publishable=public_data) for e in recorded]

    upcoming = asyncio.create_task(read(cursor))
    try:
        # the collector runs once per batch, over what the batch left (kernel/collection.py):
        # its allocation-triggered passes walked every event of the batches in hand for nothing
        with collection_paused():
            while True:
                recorded, events = await upcoming
                if not recorded:
                    break
                cursor = recorded[-1].cursor
                upcoming = asyncio.create_task(read(cursor))  # the next batch is read while this one is applied
                await _apply(engine, spec, target, projection, events, position(cursor))
                done += len(recorded)
                progress(len(recorded), None)
                crash.tick()
                del recorded, events
                collect_young()
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upcoming
    return done


def _store_share(database_url: str, spec_name: str, target: str, source: str, k: int, shares: int, at: dict,
                 end: dict, batch: int) -> tuple[int, float]:
    """Share ``k`` of ``shares`` of the feed, after ``at`` up to ``end``, stored by a process of its
    own, its cursor under ``r<k>`` in the position: the events stored and the process's peak
    resident memory in MiB."""
    from operations.projections import SPECS
    from shared.db import make_engine

    async def run() -> int:
        spec = SPECS[spec_name]
        engine = make_engine(Settings(database_url=database_url), pool_size=1)
        apg = await _feed_connection(database_url)
        try:
            return await _read_feed(engine, spec, target, _projection(spec), apg, FeedReader(spec.feed_store), source,
                                    _cursor(at), batch, lambda *_: None, lambda c: {f"r{k}": _position(c)},
                                    until=_cursor(end), share=(k, shares))
        finally:
            await apg.close()
            await engine.dispose()
    done = asyncio.run(run())
    return done, peak_rss_mib()


async def read_ledger(conn: AsyncConnection, store: EventStore, after: Cursor, limit: int,
                      settled: bool = True) -> list[RecordedEvent]:
    """The money events (``metadata.ledger``) committed after ``after``, in commit order.

    ``settled``: only those of transactions older than every transaction still running, as
    ``EventStore.read_all`` reads (a transaction that began earlier and commits later can never
    land behind the cursor, so a stored cursor never skips an event). Not settled: every event
    committed now, for a tail read whose cursor is not kept, or under the swap's locks. (A read by
    global position alone would skip such a late commit.)"""
    e = store.tables.events
    q = (select(e.c.global_position, cast(e.c.transaction_id, Text).label("transaction_id"), e.c.stream_id,
                e.c.stream_version, e.c.event_id, e.c.type, e.c.schema_version, e.c.data, e.c.metadata,
                e.c.recorded_at)
         .where(e.c.metadata.has_key("ledger"))
         .where(committed_after(e, after))
         .order_by(e.c.transaction_id, e.c.global_position).limit(limit))
    if settled:
        q = q.where(e.c.transaction_id < text(SETTLED_HORIZON))
    return [RecordedEvent(r.global_position, int(r.transaction_id), r.stream_id, r.stream_version, r.event_id,
                          r.type, r.schema_version, r.data, r.metadata, r.recorded_at)
            for r in await conn.execute(q)]


async def _ledger_position(conn: AsyncConnection, target: str) -> Cursor:
    position = await conn.scalar(text(f"SELECT position FROM {target}._rebuild_ledger"))
    return Cursor(int(position["tx"]), int(position["pos"])) if position else Cursor()


async def from_ledger(engine: AsyncEngine, spec: ProjectionSpec, target: str, progress: Progress,
                      batch: int = 5000) -> int:
    """Fold the service's own money events into the ledger tables, in commit order from the start
    or the stored cursor; the cursor is stored with each batch (an interrupted run resumes).

    The settled read stops behind a transaction still running; what committed after it (the
    tail) is applied too, its cursor not stored: the swap reads it again under its locks, and
    applying an event twice changes nothing (the ledger refolds whole streams)."""
    if not spec.ledger:
        return 0
    store, ledger, crash = EventStore(spec.ledger_store), spec.make_ledger(), _Crash()
    async with engine.connect() as conn:
        await conn.execute(text(f"INSERT INTO {target}._rebuild_ledger (position) SELECT NULL "
                                f"WHERE NOT EXISTS (SELECT 1 FROM {target}._rebuild_ledger)"))
        await conn.commit()
        cursor = await _ledger_position(conn, target)
        total = await conn.scalar(text(f"SELECT count(*) FROM {spec.ledger_store}.events WHERE metadata ? 'ledger' "
                                       "AND global_position > :p"), {"p": cursor.global_position})
    progress(0, total)
    done = 0
    while True:
        async with engine.begin() as raw:
            events = await read_ledger(raw, store, cursor, batch)
            if not events:
                break
            await ledger.apply(raw, events, {spec.schema: target})
            cursor = events[-1].cursor
            await raw.execute(text(f"UPDATE {target}._rebuild_ledger SET position = CAST(:p AS jsonb)"),
                              {"p": json.dumps({"tx": str(cursor.transaction_id), "pos": cursor.global_position})})
        done += len(events)
        progress(len(events), None)
        crash.tick()
    tail = cursor
    async with engine.begin() as raw:
        while events := await read_ledger(raw, store, tail, batch, settled=False):
            await ledger.apply(raw, events, {spec.schema: target})
            tail = events[-1].cursor
            done += len(events)
            progress(len(events), None)
        await raw.execute(text(f"UPDATE {target}._rebuild_ledger SET complete = true"))
    return done


async def _finish(engine: AsyncEngine, spec: ProjectionSpec, target: str, projection, workers: int,
                  paths: Progress | None, chunk: int, stats: dict | None) -> None:
    """After the source is stored whole: the paths computed (a bulk projection), each phase's
    tables indexed once loaded, the rebuild marked complete."""
    stored, *computed = spec.loaded or ((),)
    await _build_indexes(engine, target, stored)   # the paths' phase reads the stored events by path
    await compute_paths(engine, spec, target, projection, workers, paths, chunk)
    for tables in computed:
        await _build_indexes(engine, target, tables)
    if stats is not None:   # what a benchmark reports beside the rate
        stats["workers_peak_mib"] = getattr(projection, "workers_peak_mib", None)
    await _complete(engine, target)


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


LOCK_RETRY_PAUSE = (0.05, 0.5)   # seconds between two attempts of the swap at its locks


@dataclass
class Swapped:
    late_events: int          # events the live projection received meanwhile
    late_money_events: int    # money events read again under the locks (a ledger's tail)


async def swap(engine: AsyncEngine, spec: ProjectionSpec, target: str, attempts: int = 120) -> Swapped:
    """Make the rebuilt tables live in one transaction; the old ones go to ``<schema>_previous``.
    Events the live projection received meanwhile are applied to the rebuilt tables first, and so
    are the money events committed since the rebuild's stored ledger cursor.

    Why the money rows are safe: the swap takes ``ACCESS EXCLUSIVE`` on every table it moves, the
    money loop's included (document numbers, payments, invoices, lines, regularisations), before it
    reads the late money events. The money commands write their events and the rows folded from
    them in one transaction, and each locks a money table before or right after appending (an issue
    or a cancellation takes its document number first, a payment reads its bank reference first,
    the others write their rows right after their events). So a command has either committed
    (its events are read here and refolded into the rebuilt tables), or holds a money table (the
    swap waits for it to commit, then reads its events), or has not reached a money table yet: it
    then waits for the swap, and its own refold, of whole streams read from the store, writes its
    rows into the tables now live (PostgreSQL resolves the name again after the wait). Nothing
    written before the swap is lost, nothing after it lands in the old tables; and the document
    numbers continue from the last one any committed event carries.

    Why a lock timeout and retries rather than a plain wait: a command holding a money table may
    next want a table the swap already holds (an issue reads the advances and contract events
    after taking its number); waiting would be a deadlock, which PostgreSQL resolves after
    ``deadlock_timeout`` by aborting whichever waits - possibly the user's command. The swap waits
    at most half of ``deadlock_timeout`` for each lock, then gives everything back and tries again
    (``attempts`` times), so it is always the swap that yields; and the live tables stall
    readers and writers for at most that long per attempt."""
    for attempt in range(1, attempts + 1):
        try:
            return await _swap_once(engine, spec, target)
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
            if code not in ("55P03", "40P01") or attempt == attempts:   # lock_not_available, deadlock_detected
                raise
        await asyncio.sleep(random.uniform(*LOCK_RETRY_PAUSE))
    raise AssertionError("unreachable")


async def _swap_once(engine: AsyncEngine, spec: ProjectionSpec, target: str) -> Swapped:
    previous = target_schema(spec, "previous")
    tables = list(spec.tables)
    async with engine.begin() as raw:
        deadlock_ms = await raw.scalar(text("SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'"))
        await raw.execute(text(f"SET LOCAL lock_timeout = '{max(int(deadlock_ms or 1000) // 2, 10)}ms'"))
        await raw.execute(text("LOCK TABLE " + ", ".join(f"{spec.schema}.{t}" for t in tables) +
                               " IN ACCESS EXCLUSIVE MODE"))
        await raw.execute(text("SET LOCAL lock_timeout = 0"))
        conn = await raw.execution_options(schema_translate_map={spec.schema: target})
        missing = await raw.execute(text(
            f"SELECT {spec.late_columns} FROM {spec.schema}.contract_events l "
            f"LEFT JOIN {target}.contract_events r USING (event_id) WHERE r.event_id IS NULL ORDER BY l.arrival"))
        late = [{"id": str(m.id), "type": m.type, "subject": m.subject, "data": m.data, "time": m.time.isoformat(),
                 "partitionkey": m.partitionkey, "sequence": str(m.sequence) if m.sequence is not None else None}
                for m in missing]
        if late:
            await spec.projection().apply(conn, late)
        late_money = 0
        if spec.ledger:
            # every money event committed since the stored cursor (none can commit now: see above)
            store, ledger = EventStore(spec.ledger_store), spec.make_ledger()
            cursor = await _ledger_position(raw, target)
            await raw.execution_options(schema_translate_map=None)   # conn is raw, translated (in place)
            while events := await read_ledger(raw, store, cursor, 5000, settled=False):
                await ledger.apply(raw, events, {spec.schema: target})
                cursor = events[-1].cursor
                late_money += len(events)
        await raw.execute(text(f"DROP SCHEMA IF EXISTS {previous} CASCADE"))
        await raw.execute(text(f"CREATE SCHEMA {previous}"))
        for t in tables:
            await raw.execute(text(f"ALTER TABLE {spec.schema}.{t} SET SCHEMA {previous}"))
            await raw.execute(text(f"ALTER TABLE {target}.{t} SET SCHEMA {spec.schema}"))
        await raw.execute(text(f"DROP SCHEMA {target} CASCADE"))
    return Swapped(len(late), late_money)


async def drop_previous(engine: AsyncEngine, spec: ProjectionSpec) -> bool:
    async with engine.begin() as conn:
        existed = await _exists(conn, target_schema(spec, "previous"))
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {target_schema(spec, 'previous')} CASCADE"))
    return existed
