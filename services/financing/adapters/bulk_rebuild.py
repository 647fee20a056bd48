"""The financing projection rebuilt in bulk (``parcours ops rebuild financing``), in two phases.

1. **Store**: each batch of the source's CloudEvents is kept as the live projection keeps them
   (``received``: at the current version, keyed by apprentice) with one binary ``COPY`` into the
   rebuild's ``contract_events``; nothing is computed yet.
2. **Compute**: once the whole log is stored, every apprentice path is computed once (not once
   per batch that touched it), from its events read back in arrival order, by shares of the
   apprentices (``hashtext(apprentice_id)`` modulo the number of shares) that separate processes
   can take at the same time. A share writes its contract summaries, funding years and advances
   with ``COPY`` and its progress (the last apprentice done) in the same transaction, so an
   interrupted share resumes after the last path it committed.

The rows are those the live projection writes (same handler functions: ``received``,
``summaries``, ``compute_paths``' computation), so ``parcours ops verify`` compares them whole."""
from __future__ import annotations

import asyncio
import os
import re
from dataclasses import fields
from datetime import date
from functools import lru_cache
from typing import Any, Sequence

import asyncpg
import orjson

from kernel.collection import collect_young, collection_paused
from services.financing.adapters.financing_tables import advances, contract_events, contracts, lines
from services.financing.adapters.referential import referential_of
from services.financing.application.apply_contract_events import received, summaries_of
from services.financing.application.funding_paths import advance_columns, year_columns
from services.financing.application.unit_of_work import ContractSummary, FundingYear, StoredAdvance
from services.financing.domain.engine import compute
from shared.db import asyncpg_dsn
from shared.observability import peak_rss_mib

CRASH_ENV = "PARCOURS_REBUILD_CRASH_AFTER_PATH_CHUNKS"   # fault injection for the interruption test
_EVENT_COLUMNS = ("event_id", "apprentice_id", "contract_id", "sequence", "type", "data", "recorded_at")
COMPUTED = (contracts.name, lines.name, advances.name)   # the tables phase 2 writes
_COMPUTED_ROWS = ((contracts.name, ContractSummary), (lines.name, FundingYear), (advances.name, StoredAdvance))


@lru_cache(maxsize=None)
def _columns(kind) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


class BulkFinancing:
    """Phase 1 for one process: the event ids already stored are kept in memory, so an event the
    source holds twice (a relay's republication) is stored once, as the live ``ON CONFLICT DO
    NOTHING`` does."""

    def __init__(self, today: date):
        self.today = today
        self.seen: set[str] | None = None
        self.workers_peak_mib: float | None = None   # its worker processes' peaks summed (--workers > 1)

    async def store(self, apg: asyncpg.Connection, schema: str, events: list[dict[str, Any]]) -> None:
        """Phase 1: one batch of CloudEvents, on ``apg``'s transaction."""
        if self.seen is None:
            self.seen = {r[0] for r in await apg.fetch(f"SELECT event_id::text FROM {schema}.contract_events")}
        rows = []
        for e in received(events):
            if e.event_id not in self.seen:
                self.seen.add(e.event_id)
                rows.append((e.event_id, e.apprentice_id, e.contract_id, e.sequence, e.type,
                             orjson.dumps(e.data).decode(), e.recorded_at))
        if rows:
            await apg.copy_records_to_table(contract_events.name, schema_name=schema, columns=_EVENT_COLUMNS,
                                            records=rows)


_NULL = "\\N"
_ESCAPED = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]").search


class _Texts(dict):
    """Strings (or None) as COPY's text format reads them: None as ``\\N``, backslashes, tabs and
    line ends escaped; each kept once made (a chunk's ids and codes repeat from row to row)."""

    def __missing__(self, value: str | None) -> str:
        text = _NULL if value is None else value.translate(_ESCAPED) if _SPECIAL(value) else value
        self[value] = text
        return text


def paths_copy(rows: list[Sequence], referential, today: date) -> tuple[str, str, str]:
    """The rows the live projection stores for whole apprentice paths once it has consumed their
    events, given as (apprentice_id, contract_id, sequence, type, data) in arrival order: the
    contract summaries, funding years and advances in COPY's text format (columns in
    ``ContractSummary``'s, ``FundingYear``'s and ``StoredAdvance``'s order). Numbers and dates
    are written as Python or the schedule writes them (an advance's amounts and dates are the
    schedule's text, not parsed into Decimal and date and encoded again)."""
    result = compute([{"type": type_, "subject": contract, "data": data} for _, contract, _, type_, data in rows],
                     referential, today)
    t, n = _Texts(), _NULL
    contracts_ = "".join([
        f"{t[s.contract_id]}\t{t[s.apprentice_id]}\t{t[s.cfa_uai]}\t{t[s.cfa_siret]}\t{t[s.opco]}\t{t[s.regime]}\t"
        f"{s.signed_on}\t{s.start_date}\t{s.planned_end_date}\t{s.planned_months}\t{t[s.status]}\t{s.version}\n"
        for s in summaries_of(rows).settled()])
    years = "".join([
        f"{t[contract]}\t{year}\t{t[apprentice]}\t{t[opco]}\t{t[uai]}\t{start}\t{end}\t{units}\t{t[unit]}\t"
        f"{n if amount is None else amount}\t{t[regime]}\t{t[status]}\t{n if contribution is None else contribution}\t"
        f"{t[source]}\n"
        for contract, year, apprentice, opco, uai, start, end, units, unit, amount, regime, status, contribution, source
        in year_columns(result)])
    advances_ = "".join([
        f"{t[contract]}\t{year}\t{number}\t{t[apprentice]}\t{t[opco]}\t{t[uai]}\t{t[siret]}\t{amount}\t{due}\t"
        f"{t[latest]}\t{t[contribution]}\n"
        for contract, year, number, apprentice, opco, uai, siret, amount, due, latest, contribution
        in advance_columns(result)])
    return contracts_, years, advances_


async def _prepare_shares(apg: asyncpg.Connection, schema: str, shares: int) -> None:
    """The shares' progress table; computed rows of another split are dropped (they resume only
    with the same number of shares)."""
    await apg.execute(f"CREATE TABLE IF NOT EXISTS {schema}._rebuild_paths (share int PRIMARY KEY, shares int NOT "
                      "NULL, last_apprentice text, paths int NOT NULL DEFAULT 0, complete boolean NOT NULL DEFAULT false)")
    other = await apg.fetchval(f"SELECT count(*) FROM {schema}._rebuild_paths WHERE shares <> $1", shares)
    if other:
        await apg.execute(f"TRUNCATE {schema}._rebuild_paths, " + ", ".join(f"{schema}.{t}" for t in COMPUTED))
    await apg.executemany(f"INSERT INTO {schema}._rebuild_paths (share, shares) VALUES ($1, $2) "
                          "ON CONFLICT (share) DO NOTHING", [(k, shares) for k in range(shares)])


async def prepare_shares(database_url: str, schema: str, shares: int) -> list[int]:
    """Creates the progress rows; returns the shares still to compute."""
    apg = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with apg.transaction():
            await _prepare_shares(apg, schema, shares)
        return [r[0] for r in await apg.fetch(f"SELECT share FROM {schema}._rebuild_paths WHERE NOT complete "
                                              "ORDER BY share")]
    finally:
        await apg.close()


async def _connect(database_url: str) -> asyncpg.Connection:
    apg = await asyncpg.connect(asyncpg_dsn(database_url), server_settings={"application_name": "parcours-rebuild"})
    await apg.set_type_codec("jsonb", schema="pg_catalog", encoder=lambda v: v, decoder=orjson.loads, format="text")
    return apg


async def compute_share(database_url: str, schema: str, share: int, shares: int, today: date, chunk: int) -> int:
    """Phase 2 for one share: every path of its apprentices, after the last one committed.
    Returns the paths computed by this call."""
    reader, writer = await _connect(database_url), await _connect(database_url)
    crash = int(os.environ.get(CRASH_ENV, "0") or 0)
    done = 0
    try:
        after = await writer.fetchval(f"SELECT last_apprentice FROM {schema}._rebuild_paths WHERE share = $1", share)
        referential = await _referential(writer, schema)
        async with reader.transaction(readonly=True):
            cursor = await reader.cursor(
                f"SELECT apprentice_id, contract_id, coalesce(sequence, 0), type, data "
                f"FROM {schema}.contract_events WHERE (hashtext(apprentice_id) & 2147483647) % $1 = $2 "
                f"AND apprentice_id > $3 ORDER BY apprentice_id, arrival", shares, share, after or "")
            # the collector runs once per chunk, over what the chunk allocated, instead of the many
            # full passes its allocation counts would trigger over every live object (kernel/collection.py)
            with collection_paused():
                async for rows, last, paths in _chunks(cursor, chunk):
                    await _write(writer, schema, share, rows, last, paths, referential, today)
                    done += paths
                    del rows
                    collect_young()
                    if crash and done // chunk == crash:
                        os._exit(137)
        await writer.execute(f"UPDATE {schema}._rebuild_paths SET complete = true WHERE share = $1", share)
        return done
    finally:
        await reader.close()
        await writer.close()


async def _chunks(cursor, chunk: int, rows_per_fetch: int = 20_000):
    """The cursor's rows (apprentice first, in apprentice order) by ``chunk`` whole paths: (rows,
    the last apprentice, paths), the last list with the rest. The rows are fetched in lists (an
    ``async for`` over the cursor costs a coroutine step per row) and kept as read."""
    pending: list = []
    paths, current = 0, None
    while rows := await cursor.fetch(rows_per_fetch):
        for r in rows:
            if r[0] != current:
                if paths == chunk:
                    yield pending, current, paths
                    pending, paths = [], 0
                current = r[0]
                paths += 1
            pending.append(r)
    if pending:
        yield pending, current, paths


async def _write(apg: asyncpg.Connection, schema: str, share: int, rows: list, last: str, paths: int,
                 referential, today: date) -> None:
    async with apg.transaction():
        for (table, kind), text in zip(_COMPUTED_ROWS, paths_copy(rows, referential, today)):
            if text:
                await apg.copy_to_table(table, schema_name=schema, columns=_columns(kind), format="text",
                                        source=memoryview(text.encode()))   # a buffer (bytes: a file's path)
        await apg.execute(f"UPDATE {schema}._rebuild_paths SET last_apprentice = $2, paths = paths + $3 "
                          "WHERE share = $1", share, last, paths)


async def _referential(apg: asyncpg.Connection, schema: str):
    """The whole referential of the rebuild's copy (as ``load_referential`` reads it), read once
    for a share: the copy does not change while the rebuild runs."""
    return referential_of(
        await apg.fetch(f"SELECT rncp, cpne, npec, applicable_from, file_date FROM {schema}.npec_rows"),
        await apg.fetch(f"SELECT cpne, idcc FROM {schema}.cpne_idcc"))


def run_share(database_url: str, schema: str, share: int, shares: int, today: date, chunk: int) -> tuple[int, float]:
    """A share in a process of its own (the entry point of ``--workers``): the paths computed and
    the process's peak resident memory in MiB."""
    paths = asyncio.run(compute_share(database_url, schema, share, shares, today, chunk))
    return paths, peak_rss_mib()

