"""The machine's ceilings for each stage: Kafka's own performance tools (from the stack's jars)
and raw PostgreSQL work on the same rows (COPY in, COPY out, one-row transactions)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg

from bench.cpu_accounting import Meter
from kernel.collection import collect_young, collection_paused
from bench.environment import Database
from operations.history_file import read

KAFKA_LIBS = Path(os.environ.get("PARCOURS_CACHE_DIR", Path.home() / ".cache" / "parcours")) / "kafka-3.9.1" / "libs"


def _rows(path: Path) -> list[tuple]:
    return [(e.stream_id, e.version, uuid.UUID(e.event_id), e.type, json.dumps(e.data, ensure_ascii=False),
             json.dumps({"partitionkey": e.partition_key})) for chunk in read(path) for e in chunk]


async def raw_copy(db: Database, path: Path) -> tuple[int, float]:
    """COPY of the history's rows into a table without index, constraint or trigger."""
    rows = await asyncio.to_thread(_rows, path)
    host, port, user, name = db.parts
    conn = await asyncpg.connect(host=host, port=port, user=user, database=name)
    try:
        await conn.execute("CREATE TABLE bench_raw_copy (stream_id text, stream_version int, event_id uuid, "
                           "type text, data jsonb, metadata jsonb)")
        started = time.perf_counter()
        for i in range(0, len(rows), 20_000):  # the same chunks as the import
            await conn.copy_records_to_table("bench_raw_copy", records=rows[i:i + 20_000])
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_raw_copy")
        return len(rows), elapsed
    finally:
        await conn.close()


async def raw_copy_out(db: Database) -> tuple[int, float]:
    """COPY of the whole contracts log out of PostgreSQL (what a read of the feed cannot beat)."""
    host, port, user, name = db.parts
    conn = await asyncpg.connect(host=host, port=port, user=user, database=name)
    count = 0

    async def sink(chunk: bytes) -> None:
        nonlocal count
        count += chunk.count(b"\n")
    try:
        started = time.perf_counter()
        await conn.copy_from_query("SELECT * FROM contracts.events ORDER BY transaction_id, global_position",
                                   output=sink)
        return count, time.perf_counter() - started
    finally:
        await conn.close()


async def raw_inserts(db: Database, writers: int, commands: int, payload: str) -> float:
    """One-row INSERT transactions into an unindexed table, ``writers`` connections at once."""
    host, port, user, name = db.parts
    conns = [await asyncpg.connect(host=host, port=port, user=user, database=name) for _ in range(writers)]
    try:
        await conns[0].execute("CREATE TABLE IF NOT EXISTS bench_raw_insert (stream_id text, data jsonb)")
        per = commands // writers

        async def work(conn):
            for i in range(per):
                await conn.execute("INSERT INTO bench_raw_insert VALUES ($1, $2)", str(i), payload)
        started = time.perf_counter()
        await asyncio.gather(*(work(c) for c in conns))
        return time.perf_counter() - started
    finally:
        for c in conns:
            await c.close()


def _java(main: str, *args: str, timeout: int = 600) -> str:
    if not KAFKA_LIBS.is_dir():
        raise RuntimeError(f"no Kafka jars in {KAFKA_LIBS} (run `make run` first)")
    done = subprocess.run(["java", "-Xmx512m", "-cp", f"{KAFKA_LIBS}/*", main, *args], capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{main} failed: {done.stderr[-800:]}")
    return done.stdout


def kafka_producer_perf(bootstrap: str, topic: str, records: int, size: int) -> float:
    """Kafka's ProducerPerformance with the relay's settings (idempotent, acks=all); records/s."""
    out = _java("org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
                "--record-size", str(size), "--throughput", "-1", "--producer-props",
                f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true", "linger.ms=2",
                "batch.size=262144", "max.block.ms=30000")
    found = re.findall(r"([\d.]+) records/sec", out)
    if not found:
        raise RuntimeError(f"ProducerPerformance printed no rate: {out[-400:]}")
    return float(found[-1])


def kafka_consumer_perf(bootstrap: str, topic: str, records: int) -> float:
    """Kafka's ConsumerPerformance reading ``records`` from the start of the topic; records/s."""
    out = _java("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap, "--topic", topic,
                "--messages", str(records), "--timeout", "60000", "--group", f"bench-{uuid.uuid4().hex[:8]}")
    lines = [l for l in out.splitlines() if l and l[0].isdigit()]
    if not lines:
        raise RuntimeError(f"ConsumerPerformance printed no figures: {out[-400:]}")
    header = [h.strip() for h in out.splitlines()[0].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    return float(dict(zip(header, values))["nMsg.sec"])


# -- the Python client layer alone, over the data a rebuild reads -----------------------------------
# what a rebuild in Python cannot beat whatever it does with the events: the client reading them,
# timed beside the client's own CPU (time.process_time) and the servers' (bench.cpu_accounting)

async def aiokafka_consume(bootstrap: str, topic: str, partitions: list[int], batch: int = 5000,
                           meter: Meter | None = None) -> dict:
    """The whole topic from offset 0 with aiokafka and the rebuild's consumer settings
    (operations/rebuild.py's ``_consume``: assigned partitions, no group, 16 MiB a partition and
    64 MiB a fetch, ``getmany`` of ``batch`` records), each record counted, nothing decoded."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in partitions]
        ends = {tp: off for tp, off in (await consumer.end_offsets(parts)).items() if off}   # the empty ones: none
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        return await _timed(meter, "records", lambda: _drain(consumer, ends, set(ends), batch))
    finally:
        await consumer.stop()


async def _drain(consumer, ends: dict, remaining: set, batch: int) -> int:
    count = 0
    while remaining:
        collect_young()   # as the rebuild, whose collector runs between batches (kernel/collection.py)
        fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch)
        for tp, records in fetched.items():
            count += sum(r.offset < ends[tp] for r in records)
            # the consumer's position, not the last record's offset: past any control record
            if records and await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
    return count


class _Metered:
    """A connection whose ``fetch`` counts this process's CPU in asyncpg (the statement, the rows
    read off the socket and decoded), apart from what the caller does with the rows."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn, self.cpu = conn, 0.0

    async def fetch(self, *args):
        started = time.process_time()
        try:
            return await self.conn.fetch(*args)
        finally:
            self.cpu += time.process_time() - started


async def feed_read(db: Database, schema: str, batch: int = 5000, meter: Meter | None = None) -> dict:
    """The whole log in commit order through the store's FeedReader (its statement over asyncpg,
    each row's JSON columns parsed by orjson into a RecordedEvent), batch after batch as the
    rebuild reads it, without the rebuild's next-batch-while-applying overlap: nothing else to
    overlap with. ``decode_us``: the client's CPU a row outside asyncpg (orjson, the events)."""
    from shared.eventstore.feed_reader import FeedReader
    from shared.eventstore.model import Cursor
    host, port, user, name = db.parts
    conn = _Metered(await asyncpg.connect(host=host, port=port, user=user, database=name))
    reader = FeedReader(schema)

    async def read_all() -> int:
        count, cursor = 0, Cursor()
        while events := await reader.fetch(conn, cursor, batch):
            count += len(events)
            cursor = events[-1].cursor
            del events
            collect_young()
        return count
    try:
        out = await _timed(meter, "rows", read_all)
        decode = out["client_us"] - (1e6 * conn.cpu / out["rows"] if out["rows"] else 0.0)
        return out | {"decode_us": decode}
    finally:
        await conn.conn.close()


async def _timed(meter: Meter | None, unit: str, work) -> dict:
    """``work()``'s count, seconds, rate, this process's CPU per item, and the servers' when metered."""
    before = meter.sample() if meter else None
    cpu, started = time.process_time(), time.perf_counter()
    with collection_paused():   # as in the rebuild's reads
        count = await work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    out = {unit: count, "seconds": seconds, "rate": count / seconds if seconds else 0.0,
           "client_us": 1e6 * cpu / count if count else 0.0}
    if meter and count:
        out["cpu"] = meter.between(before, meter.sample()).summary(count, unit[:-1])
    return out
