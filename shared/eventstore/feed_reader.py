"""The store's commit-order read (``EventStore.read_all``) on a raw asyncpg connection, for bulk
readers of a whole log (``parcours ops rebuild --source feed``).

Same rows, same order, same bound as ``read_all``: the events committed after the cursor, in
``(transaction_id, global_position)`` order, only those of transactions older than every
transaction still running (``pg_snapshot_xmin``), so a stored cursor never skips a late commit.
What differs is the cost per event: one prepared statement, the JSON columns read as text and
parsed by ``orjson`` (SQLAlchemy's row processing and the standard ``json`` module were most of
the time of a rebuild's storing phase)."""
from __future__ import annotations

import asyncpg
import orjson

from shared.eventstore.model import Cursor, RecordedEvent

_loads = orjson.loads


class FeedReader:
    """Reads one store's log (``schema.events``) in commit order on the caller's connection."""

    def __init__(self, schema: str):
        self.sql = (
            "SELECT global_position, transaction_id::text AS tx, stream_id, stream_version, event_id, type, "
            f"schema_version, data::text AS data, metadata::text AS metadata, recorded_at FROM {schema}.events e "
            "WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint) "
            "AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY e.transaction_id, e.global_position LIMIT $3")
        self._statements: dict[int, asyncpg.prepared_stmt.PreparedStatement] = {}

    async def read(self, apg: asyncpg.Connection, after: Cursor = Cursor(), limit: int = 1000
                   ) -> list[RecordedEvent]:
        """Events committed after ``after``, in commit order (as ``EventStore.read_all``)."""
        statement = self._statements.get(id(apg))
        if statement is None:
            statement = self._statements[id(apg)] = await apg.prepare(self.sql)
        rows = await statement.fetch(str(after.transaction_id), after.global_position, limit)
        return [RecordedEvent(position, int(tx), stream, version, event_id, type_, schema_version, _loads(data),
                              _loads(metadata), recorded_at)
                for position, tx, stream, version, event_id, type_, schema_version, data, metadata, recorded_at
                in rows]
