"""The store's commit-order read (``EventStore.read_all``) on a raw asyncpg connection, for bulk
readers of a whole log (``parcours ops rebuild --source feed``).

Same rows, same order, same bound as ``read_all``: the events committed after the cursor, in
``(transaction_id, global_position)`` order, only those of transactions older than every
transaction of this database still running (``SETTLED_HORIZON``, horizon.py), so a stored cursor
never skips a late commit.
What differs is the cost per event: one prepared statement, the JSON columns read as text and
parsed by ``orjson`` (SQLAlchemy's row processing and the standard ``json`` module were most of
the time of a rebuild's storing phase)."""
from __future__ import annotations

import asyncpg
import orjson

from shared.eventstore.horizon import SETTLED_HORIZON
from shared.eventstore.model import Cursor, RecordedEvent

_loads = orjson.loads


# the key a consumer keys an event by (shared/envelope.py's partitionkey: the metadata's, else the
# stream), hashed as the rebuild's paths' phase splits apprentices (hashtext, modulo the shares)
_SHARE = ("(hashtext(coalesce(nullif(e.metadata->>'partitionkey', ''), e.stream_id)) & 2147483647) % {n}::int "
          "= {k}::int ")


class FeedReader:
    """Reads one store's log (``schema.events``) in commit order on the caller's connection."""

    def __init__(self, schema: str):
        self.schema = schema
        self._statements: dict[tuple[int, bool, bool], asyncpg.prepared_stmt.PreparedStatement] = {}
        self._plain = self._sql(False, False)

    def _sql(self, until: bool, share: bool) -> str:
        sql = ("SELECT global_position, transaction_id::text AS tx, stream_id, stream_version, event_id, type, "
               "schema_version, data::text AS data, metadata::text AS metadata, recorded_at "
               f"FROM {self.schema}.events e "
               "WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint) "
               f"AND e.transaction_id < {SETTLED_HORIZON} ")
        if until:
            sql += "AND (e.transaction_id, e.global_position) <= ($4::text::xid8, $5::bigint) "
        if share:
            sql += "AND " + _SHARE.format(n="$6" if until else "$4", k="$7" if until else "$5")
        # ordered by the table's columns (e.): the output column tx is text, and orders otherwise
        return sql + "ORDER BY e.transaction_id, e.global_position LIMIT $3"

    async def fetch(self, apg: asyncpg.Connection, after: Cursor, limit: int) -> list[RecordedEvent]:
        """``read`` without a statement of its own: asyncpg's cache of the connection prepares it
        (a pooled connection: the cache goes with the connection)."""
        return recorded_rows(await apg.fetch(self._plain, str(after.transaction_id), after.global_position, limit))

    async def read(self, apg: asyncpg.Connection, after: Cursor = Cursor(), limit: int = 1000,
                   until: Cursor | None = None, share: tuple[int, int] | None = None) -> list[RecordedEvent]:
        """Events committed after ``after``, in commit order (as ``EventStore.read_all``); up to
        ``until`` included when given; with ``share`` = (k, n), only the events whose key
        (partitionkey, else stream) falls in share k of n, every event of a key in the same share."""
        key = (id(apg), until is not None, share is not None)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = await apg.prepare(self._sql(until is not None, share is not None))
        args = [str(after.transaction_id), after.global_position, limit]
        if until is not None:
            args += [str(until.transaction_id), until.global_position]
        if share is not None:
            args += [share[1], share[0]]
        return recorded_rows(await statement.fetch(*args))

    async def settled_end(self, apg: asyncpg.Connection, after: Cursor) -> Cursor | None:
        """The last event settled now after ``after`` (None: none). No event can ever be added at
        or before it: every transaction of this database below ``SETTLED_HORIZON`` has ended."""
        row = await apg.fetchrow(
            f"SELECT transaction_id::text AS tx, global_position FROM {self.schema}.events e "
            "WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint) "
            f"AND e.transaction_id < {SETTLED_HORIZON} "
            "ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1",
            str(after.transaction_id), after.global_position)
        return None if row is None else Cursor(int(row[0]), row[1])


def recorded_rows(rows) -> list[RecordedEvent]:
    """Recorded events from rows of the store's columns in this module's order, the JSON columns as text."""
    return [RecordedEvent(position, int(tx), stream, version, event_id, type_, schema_version, _loads(data),
                          _loads(metadata), recorded_at)
            for position, tx, stream, version, event_id, type_, schema_version, data, metadata, recorded_at
            in rows]
