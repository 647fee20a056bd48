"""Bulk import of a history file into the contracts store with COPY.

Each chunk is one transaction: the rows are copied into a temporary table, events already in
the store (same id, same stream and version) are left out so a re-run writes nothing twice,
every stream's first version is checked against the store (optimistic concurrency, as for a
command), then one INSERT ... SELECT appends them and the read model and deadlines are refreshed
in a few multi-row statements.

The hash chain is computed for the whole chunk by that INSERT, set-based: a recursive query
hashes, at its k-th step, the k-th event of every stream of the chunk at once, starting from
each stream's last stored hash (or the genesis), with the store's own ``event_hash`` over the
very values inserted (``recorded_at`` is the transaction's ``now()``, as the column's default).
The statement declares its hashes precomputed (``SET LOCAL parcours.chain_precomputed``), so
the per-row trigger, which would compute them again one lookup at a time, does not fire for it
(see shared/eventstore/chain_migration.py for why that opens no hole); `ops verify-chain`
checks imported events as any other.

The file is read and parsed in a thread, one chunk ahead, while the database works on the
chunk before."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contract_events.upcasting import upcast
from services.contracts.adapters.tables import SCHEMA
from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.view_writes import save_views
from services.contracts.domain.state import ContractState, apply, fold
from operations.history_file import FileEvent, read
from shared.eventstore.chain import GENESIS
from shared.eventstore.chain_migration import PRECOMPUTED

COLUMNS = ["seq", "stream_id", "stream_version", "event_id", "type", "schema_version", "data", "metadata"]
EVENTS = f"{SCHEMA}.events"
LZ4_FOR_THIS_TRANSACTION = ("SELECT set_config(name, 'lz4', true) FROM pg_settings "
                            "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")

# every event of the chunk with its prev_hash and hash: step k hashes the k-th event of each stream
# of the chunk, from the hash of the event before it (stored, or hashed at step k-1)
_INSERT_CHAINED = f"""
    WITH RECURSIVE chained AS (
      SELECT s.seq, s.stream_id, s.stream_version, p.prev AS prev_hash,
             {SCHEMA}.event_hash(p.prev, s.stream_id, s.stream_version, s.event_id, s.type, s.schema_version,
                                 s.data, s.metadata, now()) AS hash
        FROM import_stage s
        JOIN (SELECT f.stream_id, f.first, coalesce(e.hash, '{GENESIS}') AS prev
                FROM (SELECT stream_id, min(stream_version) AS first FROM import_stage GROUP BY stream_id) f
                LEFT JOIN {EVENTS} e ON e.stream_id = f.stream_id AND e.stream_version = f.first - 1) p
          ON s.stream_id = p.stream_id AND s.stream_version = p.first
      UNION ALL
      SELECT s.seq, s.stream_id, s.stream_version, c.hash,
             {SCHEMA}.event_hash(c.hash, s.stream_id, s.stream_version, s.event_id, s.type, s.schema_version,
                                 s.data, s.metadata, now())
        FROM chained c
        JOIN import_stage s ON s.stream_id = c.stream_id AND s.stream_version = c.stream_version + 1
    ), added AS (
      INSERT INTO {EVENTS} (stream_id, stream_version, event_id, type, schema_version, data, metadata,
                            recorded_at, prev_hash, hash)
      SELECT s.stream_id, s.stream_version, s.event_id, s.type, s.schema_version, s.data, s.metadata,
             now(), c.prev_hash, c.hash
        FROM import_stage s JOIN chained c ON c.seq = s.seq
       ORDER BY s.seq
      RETURNING 1)
    SELECT count(*) FROM added"""


class ImportConflict(Exception):
    """The file does not follow on from the store (``code``: version_conflict or event_id_reused)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(f"{code}: {message}")


@dataclass
class ImportReport:
    events: int = 0
    skipped: int = 0  # already in the store (a re-run)
    contracts: int = 0


Chunk = tuple[list[FileEvent], list[tuple]]   # the events and their rows for COPY


async def import_file(engine: AsyncEngine, path: Path, *, chunk_events: int = 20_000,
                      progress: Callable[[int], None] = lambda n: None) -> ImportReport:
    report = ImportReport()
    chunks = _rows(read(path, chunk_events=chunk_events))
    # the next chunk is parsed in a thread while this one is in the database, and staged on a
    # second connection while this one is checked and written (_import_after); an error of the
    # file or of a chunk still surfaces only after the chunks before it are imported
    ahead = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
    in_flight: list[asyncio.Task] = []   # at most two chunks, in the file's order
    try:
        while True:
            try:
                chunk = await ahead
            except BaseException:
                await _drain(in_flight, report, progress)   # the chunks before the file's error first
                raise
            if chunk is None:
                break
            ahead = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            in_flight.append(asyncio.create_task(_import_after(engine, chunk, in_flight[-1] if in_flight else None)))
            if len(in_flight) == 2:
                _count(report, await in_flight.pop(0), progress)
        await _drain(in_flight, report, progress)
    finally:
        for pending in (*in_flight, ahead):   # the reading thread owns the file until it returns
            if not pending.done():
                await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()           # retrieved: the error of the earliest chunk was raised
    return report


async def _drain(in_flight: list[asyncio.Task], report: ImportReport, progress: Callable[[int], None]) -> None:
    while in_flight:
        _count(report, await in_flight.pop(0), progress)


def _count(report: ImportReport, done: tuple[list[FileEvent], int, int], progress: Callable[[int], None]) -> None:
    events, written, skipped = done
    report.events += written
    report.skipped += skipped
    report.contracts += len({e.stream_id for e in events if e.version == 1})
    progress(len(events))


class _Abandoned(Exception):
    """The chunk before failed: this one is rolled back unwritten."""


async def _import_after(engine: AsyncEngine, chunk: Chunk, before: asyncio.Task | None) -> tuple[list[FileEvent], int, int]:
    """One chunk in one transaction, staged at once, checked and written only once the chunk
    before it committed: chunks commit in the file's order, as if one after the other (this
    one's checks see what that one wrote), and none after a failing one is written."""
    events, rows = chunk
    async with engine.begin() as conn:
        apg = await _stage(conn, rows)
        if before is not None:
            await asyncio.wait([before])
            if before.cancelled() or before.exception() is not None:
                raise _Abandoned()
        written, skipped = await _write(conn, apg, events, rows)
    return events, written, skipped


def _rows(chunks: Iterator[list[FileEvent]]) -> Iterator[Chunk]:
    for chunk in chunks:
        yield chunk, [(i, e.stream_id, e.version, e.event_id, e.type, e.schema_version, _json(e.data),
                       _json({"partitionkey": e.partition_key, "actor": "import"}))
                      for i, e in enumerate(chunk)]


def _json(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:   # an integer past 64 bits: json writes it
        return json.dumps(value, ensure_ascii=False)


async def _stage(conn: AsyncConnection, rows: list[tuple]):
    """The chunk's rows in a temporary table (nothing of the store read yet); the driver's connection."""
    # through SQLAlchemy first, which opens the transaction the driver calls below then run in.
    # The CERFAs (of the events, of the read model's states) are over TOAST's threshold: lz4, where
    # the server has it, compresses them several times faster than the default pglz
    await conn.execute(text(LZ4_FOR_THIS_TRANSACTION))
    await conn.execute(text("CREATE TEMP TABLE import_stage (seq int, stream_id text, stream_version int, "
                            "event_id uuid, type text, schema_version int, data jsonb, metadata jsonb) ON COMMIT DROP"))
    apg = (await conn.get_raw_connection()).driver_connection
    await apg.copy_records_to_table("import_stage", columns=COLUMNS, records=rows)
    # the chain's steps look each stream's next version up: by index, whatever the streams' depth
    await apg.execute("CREATE INDEX ON import_stage (stream_id, stream_version); "
                      "ANALYZE import_stage (stream_id, stream_version)")
    return apg


async def _write(conn: AsyncConnection, apg, chunk: list[FileEvent], rows: list[tuple]) -> tuple[int, int]:
    reused = await apg.fetch(
        f"DELETE FROM import_stage s USING {EVENTS} e WHERE e.event_id = s.event_id "
        "RETURNING s.event_id, s.stream_id, s.stream_version, e.stream_id AS at_stream, e.stream_version AS at_version")
    clash = [r for r in reused if (r["stream_id"], r["stream_version"]) != (r["at_stream"], r["at_version"])]
    if clash:
        r = clash[0]
        raise ImportConflict("event_id_reused", f"event {r['event_id']} is already recorded as "
                                                f"{r['at_stream']} v{r['at_version']}")
    behind = await apg.fetch(f"""
        SELECT s.stream_id, s.first, coalesce(max(e.stream_version), 0) AS at
          FROM (SELECT stream_id, min(stream_version) AS first FROM import_stage GROUP BY stream_id) s
          LEFT JOIN {EVENTS} e ON e.stream_id = s.stream_id
         GROUP BY s.stream_id, s.first
        HAVING s.first <> coalesce(max(e.stream_version), 0) + 1
         LIMIT 5""")
    if behind:
        raise ImportConflict("version_conflict", "; ".join(
            f"stream {r['stream_id']} is at version {r['at']}, the file continues it at {r['first']}" for r in behind))
    await apg.execute(f"SET LOCAL {PRECOMPUTED} = on")
    written = await apg.fetchval(_INSERT_CHAINED)
    await apg.execute(f"SET LOCAL {PRECOMPUTED} = off")
    if written != len(rows) - len(reused):   # a stream whose versions do not follow on would not chain
        raise ImportConflict("version_conflict", f"{len(rows) - len(reused) - written} events of the chunk "
                                                 "do not follow on from their stream")
    if written:
        already = {str(r["event_id"]) for r in reused}
        await save_views(conn, await _states(conn, [e for e in chunk if e.event_id not in already]))
    return written, len(reused)


async def _states(conn: AsyncConnection, imported: list[FileEvent]) -> list[ContractState]:
    """The state of every contract the chunk touched: streams it continues are read back first."""
    first_new: dict[str, int] = {}
    for e in imported:
        first_new.setdefault(e.stream_id, e.version)
    older = {sid for sid, v in first_new.items() if v > 1}
    states: dict[str, ContractState] = {}
    if older:
        for sid, recorded in (await store.read_streams(conn, older)).items():
            states[sid] = fold(sid, ((r.type, upcast(r.type, r.schema_version, r.data))
                                     for r in recorded if r.stream_version < first_new[sid]))
    for e in imported:
        state = states.setdefault(e.stream_id, ContractState(e.stream_id))
        apply(state, e.type, upcast(e.type, e.schema_version, e.data))
    return list(states.values())
