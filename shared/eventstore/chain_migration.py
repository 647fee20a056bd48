"""Alembic operations adding the hash chain to a service's event store.

PostgreSQL computes each event's hash itself (BEFORE INSERT), over the canonical text of the
row (``jsonb::text`` is canonical) joined to the previous event's hash in the same stream.
Rows inserted earlier by the same statement are visible to the trigger, so multi-event appends
chain correctly."""
from alembic import op

GENESIS = "0" * 64


def add_hash_chain(schema: str) -> None:
    op.execute(f"ALTER TABLE {schema}.events ADD COLUMN prev_hash text, ADD COLUMN hash text")
    op.execute(f"""
        CREATE FUNCTION {schema}.event_hash(prev text, stream_id text, v integer, event_id uuid, type text,
                                            sv integer, data jsonb, metadata jsonb, recorded_at timestamptz)
        RETURNS text LANGUAGE sql STABLE AS $$
          SELECT encode(sha256(convert_to(concat_ws('|', prev, stream_id, v, event_id, type, sv, data::text,
                 metadata::text, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')),
                 'UTF8')), 'hex')
        $$""")
    op.execute(f"""
        CREATE FUNCTION {schema}.chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.prev_hash := coalesce((SELECT hash FROM {schema}.events
                                     WHERE stream_id = NEW.stream_id AND stream_version = NEW.stream_version - 1),
                                    '{GENESIS}');
          NEW.hash := {schema}.event_hash(NEW.prev_hash, NEW.stream_id, NEW.stream_version, NEW.event_id,
                                          NEW.type, NEW.schema_version, NEW.data, NEW.metadata, NEW.recorded_at);
          RETURN NEW;
        END $$""")
    op.execute(f"""CREATE TRIGGER events_chain BEFORE INSERT ON {schema}.events
                   FOR EACH ROW EXECUTE FUNCTION {schema}.chain_event()""")
    # events recorded before the chain existed are chained now, stream by stream, in version order
    op.execute(f"ALTER TABLE {schema}.events DISABLE TRIGGER events_append_only")
    op.execute(f"""
        DO $$
        DECLARE r record; previous text; last_stream text;
        BEGIN
          FOR r IN SELECT * FROM {schema}.events ORDER BY stream_id, stream_version LOOP
            IF last_stream IS DISTINCT FROM r.stream_id THEN previous := '{GENESIS}'; last_stream := r.stream_id; END IF;
            UPDATE {schema}.events SET prev_hash = previous,
                   hash = {schema}.event_hash(previous, r.stream_id, r.stream_version, r.event_id, r.type,
                                              r.schema_version, r.data, r.metadata, r.recorded_at)
             WHERE global_position = r.global_position RETURNING hash INTO previous;
          END LOOP;
        END $$""")
    op.execute(f"ALTER TABLE {schema}.events ENABLE TRIGGER events_append_only")
