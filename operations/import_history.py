"""Bulk import of a history file into the contracts store with COPY.

Each chunk is one transaction: the rows are copied into a temporary table, events already in
the store (same id, same stream and version) are left out so a re-run writes nothing twice,
every stream's first version is checked against the store (optimistic concurrency, as for a
command), then one INSERT ... SELECT appends them (the hash-chain trigger runs as for any
append) and the read model and deadlines are refreshed in a few multi-row statements."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contract_events.upcasting import upcast
from services.contracts.adapters.tables import SCHEMA
from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.view_writes import save_views
from services.contracts.domain.state import ContractState, apply, fold
from operations.history_file import FileEvent, read

COLUMNS = ["seq", "stream_id", "stream_version", "event_id", "type", "schema_version", "data", "metadata"]


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


async def import_file(engine: AsyncEngine, path: Path, *, chunk_events: int = 20_000,
                      progress: Callable[[int], None] = lambda n: None) -> ImportReport:
    report = ImportReport()
    for chunk in read(path, chunk_events=chunk_events):
        async with engine.begin() as conn:
            written, skipped = await _import_chunk(conn, chunk)
        report.events += written
        report.skipped += skipped
        report.contracts += len({e.stream_id for e in chunk if e.version == 1})
        progress(len(chunk))
    return report


async def _import_chunk(conn: AsyncConnection, chunk: list[FileEvent]) -> tuple[int, int]:
    # through SQLAlchemy first, which opens the transaction the driver calls below then run in
    await conn.execute(text("CREATE TEMP TABLE import_stage (seq int, stream_id text, stream_version int, "
                            "event_id uuid, type text, schema_version int, data jsonb, metadata jsonb) ON COMMIT DROP"))
    apg = (await conn.get_raw_connection()).driver_connection
    await apg.copy_records_to_table("import_stage", columns=COLUMNS, records=[
        (i, e.stream_id, e.version, e.event_id, e.type, e.schema_version, json.dumps(e.data, ensure_ascii=False),
         json.dumps({"partitionkey": e.partition_key, "actor": "import"})) for i, e in enumerate(chunk)])
    events = f"{SCHEMA}.events"
    reused = await apg.fetch(
        f"DELETE FROM import_stage s USING {events} e WHERE e.event_id = s.event_id "
        "RETURNING s.event_id, s.stream_id, s.stream_version, e.stream_id AS at_stream, e.stream_version AS at_version")
    clash = [r for r in reused if (r["stream_id"], r["stream_version"]) != (r["at_stream"], r["at_version"])]
    if clash:
        r = clash[0]
        raise ImportConflict("event_id_reused", f"event {r['event_id']} is already recorded as "
                                                f"{r['at_stream']} v{r['at_version']}")
    behind = await apg.fetch(f"""
        SELECT s.stream_id, s.first, coalesce(max(e.stream_version), 0) AS at
          FROM (SELECT stream_id, min(stream_version) AS first FROM import_stage GROUP BY stream_id) s
          LEFT JOIN {events} e ON e.stream_id = s.stream_id
         GROUP BY s.stream_id, s.first
        HAVING s.first <> coalesce(max(e.stream_version), 0) + 1
         LIMIT 5""")
    if behind:
        raise ImportConflict("version_conflict", "; ".join(
            f"stream {r['stream_id']} is at version {r['at']}, the file continues it at {r['first']}" for r in behind))
    written = await apg.fetchval(f"""
        WITH added AS (
          INSERT INTO {events} (stream_id, stream_version, event_id, type, schema_version, data, metadata)
          SELECT stream_id, stream_version, event_id, type, schema_version, data, metadata FROM import_stage ORDER BY seq
          RETURNING 1)
        SELECT count(*) FROM added""")
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
