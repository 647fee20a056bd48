"""Verifying the hash chain of the streams of a store: names every altered, removed or
reordered event."""
from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

GENESIS = "0" * 64


@dataclass(frozen=True)
class Break:
    stream_id: str
    stream_version: int
    event_id: str | None
    kind: str        # altered, removed, reordered
    detail: str

    def __str__(self) -> str:
        return f"stream {self.stream_id} version {self.stream_version} (event {self.event_id}): {self.kind}: {self.detail}"


def _query(schema: str, one_stream: bool) -> str:
    where = "WHERE stream_id = :stream" if one_stream else ""
    return f"""
        SELECT stream_id, stream_version, event_id::text AS event_id, hash, prev_hash,
               {schema}.event_hash(prev_hash, stream_id, stream_version, event_id, type, schema_version, data,
                                   metadata, recorded_at) AS recomputed,
               lag(hash) OVER w AS previous_hash, lag(stream_version) OVER w AS previous_version
        FROM {schema}.events {where}
        WINDOW w AS (PARTITION BY stream_id ORDER BY stream_version)
        ORDER BY stream_id, stream_version"""


async def verify_chain(conn: AsyncConnection, schema: str, stream_id: str | None = None) -> AsyncIterator[Break | int]:
    """Yields each break found, then the number of events checked."""
    checked = 0
    result = await conn.stream(text(_query(schema, stream_id is not None)),
                               {"stream": stream_id} if stream_id else {})
    async for r in result:
        checked += 1
        expected_version = (r.previous_version or 0) + 1
        if r.stream_version != expected_version:
            yield Break(r.stream_id, expected_version, None, "removed",
                        f"versions jump from {expected_version - 1} to {r.stream_version}")
        if r.prev_hash != (r.previous_hash or GENESIS):
            yield Break(r.stream_id, r.stream_version, r.event_id, "reordered",
                        "it does not follow the event before it in its stream")
        if r.hash is None or r.recomputed != r.hash:
            yield Break(r.stream_id, r.stream_version, r.event_id, "altered",
                        "its content does not match its recorded hash")
    yield checked
