"""PostgreSQL event store: optimistic, multi-stream atomic appends and a gap-free global feed.

Reading in commit order follows the xid8 rule: only rows whose ``transaction_id`` is below the
oldest transaction of this database still running (``SETTLED_HORIZON``, horizon.py) are visible
to a tailing reader, read in
``(transaction_id, global_position)`` order, so a transaction that commits late with a lower
position can never be skipped.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterable, Mapping, Sequence

import asyncpg
from sqlalchemy import BigInteger, Text, bindparam, cast, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import driver_connection, driver_outside, json_text, positional
from shared.eventstore.feed_reader import FeedReader, recorded_rows
from shared.eventstore.model import (ConcurrencyConflict, Cursor, DuplicateEvent, RecordedEvent,
                                     StreamAppend)
from shared.eventstore.tables import store_tables


# append_events's parameters, by name and element type, in order
_APPEND_PARAMETERS = (("a_streams", "text"), ("a_expected", "int"), ("e_streams", "text"), ("e_versions", "int"),
                      ("e_ids", "uuid"), ("e_types", "text"), ("e_schema_versions", "int"), ("e_data", "text"),
                      ("e_metadata", "text"))
_APPEND_NAMES = tuple(name for name, _ in _APPEND_PARAMETERS)
# in a write of append's ``then``: true when the function appended (no stream stale, the guard held)
APPENDED = "EXISTS (SELECT FROM appended WHERE NOT conflict)"


class GuardFailed(Exception):
    """The append's guard did not hold: nothing was written."""


class EventStore:
    def __init__(self, schema: str):
        self.tables = store_tables(schema)
        self.feed = FeedReader(schema)   # the gap-free read in commit order, on a driver connection
        e = self.tables.events
        # run on the driver's connection (see append): asyncpg prepares it once per connection. The
        # data and metadata the function returns are the ones given: not sent back, nor decoded
        # the call to append_events, its parameters named (a CTE ``appended`` of append's ``then``
        # and ``guard``), and alone as asyncpg's text ($1 ... $9, in _APPEND_NAMES's order)
        self._appended = (
            "SELECT conflict, global_position, transaction_id, stream_id, stream_version, "
            f"schema_version, recorded_at FROM {schema}.append_events(" + ", ".join(
                f"CAST(:{name} AS {sql_type}[])" for name, sql_type in _APPEND_PARAMETERS) + ")")
        self._append_sql, names = positional(self._appended)
        assert names == _APPEND_NAMES
        # one stream's events (load_stream), the feed reader's columns
        self._stream_sql = ("SELECT global_position, transaction_id::text, stream_id, stream_version, event_id, type, "
                            f"schema_version, data::text, metadata::text, recorded_at FROM {schema}.events "
                            "WHERE stream_id = $1 ORDER BY stream_version")
        self._columns = (e.c.global_position, cast(e.c.transaction_id, Text).label("transaction_id"),
                         e.c.stream_id, e.c.stream_version, e.c.event_id, e.c.type, e.c.schema_version,
                         e.c.data, e.c.metadata, e.c.recorded_at)

    # -- writing -----------------------------------------------------------------------------
    async def append(self, conn: AsyncConnection, appends: Sequence[StreamAppend], *,
                     then: tuple[str, Mapping[str, Any]] | None = None,
                     guard: tuple[str, Mapping[str, Any]] | None = None,
                     outside: bool = False) -> list[RecordedEvent]:
        """Append to one or more streams in the caller's transaction, checking each expected
        version: one round trip to ``append_events`` (see append_function.py). Raises
        ConcurrencyConflict (nothing is written, the transaction stays usable) or DuplicateEvent.
        The recorded events carry the data and metadata given (the objects themselves).

        ``then``: more writes in the same statement (no round trip of their own), as SQL text of
        data-modifying CTEs (``name AS (INSERT ...), ...``, ``:name`` parameters from the mapping),
        each gated on ``APPENDED`` so that nothing is written when a stream is stale. They run
        after the function (the gate is evaluated once, before their first row: the function's
        locks come first, as when they followed in a statement of their own), on the statement's
        snapshot, taken before the function waited for its locks: a write must not depend on
        rows a competitor may have committed meanwhile, unless that competitor appended to one
        of these streams (then the append is stale and nothing is written).

        ``guard``: a condition checked in the same statement before the function runs, as SQL text
        of a query giving one row with a boolean ``ok`` (``:name`` parameters from the mapping);
        when it is not true nothing is written and GuardFailed is raised. What it reads, it reads
        before the function's locks (the caller's own locks, taken in functions whose statements
        see what was committed before they got them, come first).

        ``outside``: on a unit's own connection with no transaction open, the statement is a
        transaction of its own, committed as it ends (shared.db.driver_outside): a unit whose
        append is its last statement skips BEGIN and COMMIT."""
        events = [(a.stream_id, a.expected_version + i, ev) for a in appends
                  for i, ev in enumerate(a.events, start=1)]
        if not events:
            return []
        args = ([a.stream_id for a in appends], [a.expected_version for a in appends],
                [s for s, _, _ in events], [v for _, v, _ in events], [ev.event_id for _, _, ev in events],
                [ev.type for _, _, ev in events], [ev.schema_version for _, _, ev in events],
                [json_text(ev.data) for _, _, ev in events], [json_text(ev.metadata) for _, _, ev in events])
        statement = self._append_sql
        if then is not None or guard is not None:
            ctes, given = [], dict(zip(_APPEND_NAMES, args))
            if guard is not None:
                ctes.append(f"guard AS ({guard[0]})")
                given.update(guard[1])
            ctes.append(f"appended AS ({self._appended}{' WHERE (SELECT ok FROM guard)' if guard else ''})")
            if then is not None:
                ctes.append(then[0])
                given.update(then[1])
            statement, names = positional(f"WITH {', '.join(ctes)} SELECT * FROM appended")
            args = [given[n] for n in names]
        # the statement on the driver's connection, in the caller's transaction (or its own:
        # outside): one prepared statement per connection, no SQLAlchemy compile, parameter or
        # result processing
        apg = (await driver_outside(conn))[0] if outside else await driver_connection(conn)
        try:
            rows = await apg.fetch(statement, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            if exc.table_name != self.tables.events.name:   # one of ``then``'s writes: not a conflict
                raise
            if exc.constraint_name == "events_event_id_key":
                raise DuplicateEvent(str(exc)) from None
            first = appends[0]   # a writer that bypassed the function's lock
            raise ConcurrencyConflict(first.stream_id, first.expected_version) from None
        if not rows:   # (a guarded append: the function did not run)
            raise GuardFailed()
        if rows[0]["conflict"]:
            stale = rows[0]
            raise ConcurrencyConflict(stale["stream_id"], stale["schema_version"], stale["stream_version"])
        given = {(s, v): ev for s, v, ev in events}
        return [RecordedEvent(r[1], int(r[2]), r[3], r[4], (ev := given[r[3], r[4]]).event_id, ev.type, r[5],
                              ev.data, ev.metadata, r[6]) for r in rows]

    # -- reading -----------------------------------------------------------------------------
    async def read_stream(self, conn: AsyncConnection, stream_id: str, *,
                          recorded_until=None) -> list[RecordedEvent]:
        e = self.tables.events
        q = select(*self._columns).where(e.c.stream_id == stream_id)
        if recorded_until is not None:
            q = q.where(e.c.recorded_at <= recorded_until)
        rows = await conn.execute(q.order_by(e.c.stream_version))
        return [_recorded(r) for r in rows]

    async def load_stream(self, conn: AsyncConnection, stream_id: str) -> list[RecordedEvent]:
        """``read_stream``'s events on the driver's connection: in the unit's transaction when one
        is open, else in a statement of its own that begins none (``driver_outside``). A command
        reads its stream, decides, then appends at the version it read: the append's version check,
        not a transaction around the read, keeps it right (a read in READ COMMITTED holds nothing
        either), so a command without other reads is two statements, neither BEGIN nor COMMIT
        (the append then ``outside``)."""
        apg, _ = await driver_outside(conn)
        return recorded_rows(await apg.fetch(self._stream_sql, stream_id))

    async def read_streams(self, conn: AsyncConnection, stream_ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        e = self.tables.events
        ids = list(stream_ids)
        out: dict[str, list[RecordedEvent]] = {sid: [] for sid in ids}
        rows = await conn.execute(select(*self._columns).where(e.c.stream_id.in_(ids))
                                  .order_by(e.c.stream_id, e.c.stream_version))
        for r in rows:
            out[r.stream_id].append(_recorded(r))
        return out

    async def stream_version(self, conn: AsyncConnection, stream_id: str) -> int:
        e = self.tables.events
        v = await conn.scalar(select(func.max(e.c.stream_version)).where(e.c.stream_id == stream_id))
        return v or 0

    async def read_all(self, conn: AsyncConnection, after: Cursor = Cursor(), limit: int = 1000) -> list[RecordedEvent]:
        """Events committed after ``after``, in commit order, never skipping a late commit: the
        feed reader's statement (feed_reader.py) on the driver's connection, in ``conn``'s
        transaction (the API feed calls it at every poll: no SQLAlchemy statement
        built, compiled and cache-keyed each time)."""
        return await self.feed.fetch(await driver_connection(conn), after, limit)

    async def committed_after(self, conn: AsyncConnection, after: Cursor) -> bool:
        """Whether an event committed after ``after`` is visible now, settled or not (``read_all``
        returns it once every transaction of this database older than it has ended, horizon.py)."""
        e = self.tables.events
        return bool(await conn.scalar(select(literal(True)).where(committed_after(e, after)).limit(1)))

    async def cursor_at(self, conn: AsyncConnection, global_position: int) -> Cursor | None:
        """The commit-order cursor of the event at ``global_position`` (None when absent)."""
        if global_position <= 0:
            return Cursor()
        e = self.tables.events
        tx = await conn.scalar(select(cast(e.c.transaction_id, Text))
                               .where(e.c.global_position == global_position))
        return None if tx is None else Cursor(int(tx), global_position)

    async def find_event(self, conn: AsyncConnection, event_id: uuid.UUID) -> RecordedEvent | None:
        e = self.tables.events
        row = (await conn.execute(select(*self._columns).where(e.c.event_id == event_id))).first()
        return _recorded(row) if row else None


def _recorded(r) -> RecordedEvent:
    return RecordedEvent(
        global_position=r.global_position, transaction_id=int(r.transaction_id), stream_id=r.stream_id,
        stream_version=r.stream_version, event_id=r.event_id, type=r.type,
        schema_version=r.schema_version, data=r.data, metadata=r.metadata, recorded_at=r.recorded_at)


def committed_after(events, after: Cursor):
    """The condition "committed after ``after``" in commit order, its values bound: the statement
    is compiled once, not at every poll with the cursor written into its text."""
    return (tuple_(events.c.transaction_id, events.c.global_position)
            > tuple_(text("CAST(:after_tx AS xid8)").bindparams(bindparam("after_tx", str(after.transaction_id), Text)),
                     bindparam("after_position", after.global_position, BigInteger)))
