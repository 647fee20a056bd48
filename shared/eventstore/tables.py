"""Tables of one service's event store: the append-only log and the relay checkpoint.

Each service owns a PostgreSQL schema with the same tables; ``store_tables(schema)`` builds
their SQLAlchemy Core description, and ``shared.eventstore.migration`` creates them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, Table, Text,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType):
    """PostgreSQL ``xid8`` (64-bit transaction id), read and written as text."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "xid8"


@dataclass(frozen=True)
class StoreTables:
    schema: str
    events: Table
    checkpoints: Table


@lru_cache
def store_tables(schema: str) -> StoreTables:
    md = MetaData(schema=schema)
    events = Table(
        "events", md,
        Column("global_position", BigInteger, primary_key=True, autoincrement=True),
        Column("stream_id", Text, nullable=False),
        Column("stream_version", Integer, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("type", Text, nullable=False),
        Column("schema_version", Integer, nullable=False, server_default=text("1")),
        Column("data", JSONB, nullable=False),
        Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("transaction_id", Xid8, nullable=False, server_default=text("pg_current_xact_id()")),
        Column("prev_hash", Text),
        Column("hash", Text),
        UniqueConstraint("stream_id", "stream_version"),
    )
    checkpoints = Table(
        "checkpoints", md,
        Column("name", Text, primary_key=True),
        Column("transaction_id", Text, nullable=False),
        Column("global_position", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    )
    return StoreTables(schema, events, checkpoints)
