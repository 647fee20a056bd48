"""Tables a consuming service keeps beside its projections: Kafka offsets and, per stream, the
last version applied (duplicates are skipped by it), both written in the projection's own
transaction."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text


@dataclass(frozen=True)
class ConsumerTables:
    offsets: Table
    streams: Table


@lru_cache
def consumer_tables(schema: str) -> ConsumerTables:
    md = MetaData(schema=schema)
    offsets = Table("consumer_offsets", md,
                    Column("consumer", Text, primary_key=True),
                    Column("topic", Text, primary_key=True),
                    Column("partition", Integer, primary_key=True),
                    Column("next_offset", BigInteger, nullable=False))
    streams = Table("consumer_streams", md,
                    Column("consumer", Text, primary_key=True),
                    Column("stream_id", Text, primary_key=True),
                    Column("version", Integer, nullable=False))
    return ConsumerTables(offsets, streams)


def create_consumer_tables_sql(schema: str) -> list[str]:
    return [
        f"""CREATE TABLE {schema}.consumer_offsets (consumer text, topic text, partition integer,
            next_offset bigint NOT NULL, PRIMARY KEY (consumer, topic, partition))""",
        f"""CREATE TABLE {schema}.consumer_streams (consumer text, stream_id text,
            version integer NOT NULL, PRIMARY KEY (consumer, stream_id))""",
    ]
