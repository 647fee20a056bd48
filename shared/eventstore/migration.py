"""Alembic operations that create a service's event store tables (used by each service's
first migration, so the three stores stay identical)."""
from __future__ import annotations

from alembic import op


def create_event_store(schema: str) -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    op.execute(f"""
        CREATE TABLE {schema}.events (
            global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream_id text NOT NULL,
            stream_version integer NOT NULL CHECK (stream_version > 0),
            event_id uuid NOT NULL UNIQUE,
            type text NOT NULL,
            schema_version integer NOT NULL DEFAULT 1,
            data jsonb NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
            UNIQUE (stream_id, stream_version)
        )""")
    op.execute(f"CREATE INDEX events_commit_order ON {schema}.events (transaction_id, global_position)")
    op.execute(f"""
        CREATE TABLE {schema}.checkpoints (
            name text PRIMARY KEY,
            transaction_id text NOT NULL,
            global_position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")
    # The log is append-only: updates and deletes are refused by the database itself.
    op.execute(f"""
        CREATE FUNCTION {schema}.refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$""")
    op.execute(f"""
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_log_change()""")


def drop_event_store(schema: str) -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
