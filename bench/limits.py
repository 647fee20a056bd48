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
