"""Alembic operations adding the hash chain to a service's event store.

PostgreSQL computes each event's hash itself (BEFORE INSERT), over the canonical text of the
row (``jsonb::text`` is canonical) joined to the previous event's hash in the same stream.
Rows inserted earlier by the same statement are visible to the trigger, so multi-event appends
chain correctly.

A bulk writer may compute the hashes itself, set-based, with the same ``event_hash`` (the
history import: operations/import_history.py): it supplies ``prev_hash`` and ``hash`` and
declares so for its transaction with ``SET LOCAL parcours.chain_precomputed = on``; the trigger
then does not fire for those rows. A row without a hash, or written by any other transaction, is
hashed by the trigger as before (a supplied hash is overwritten). This opens no hole: the chain
is evidence checked by `ops verify-chain`, which recomputes every hash from the row's content
and compares every ``prev_hash`` with the stored hash before it, so a wrong supplied hash shows
as an altered or reordered event; and a writer able to insert could always have inserted any
content, hashed for it by the trigger. What the trigger guarantees is kept: every row gets
a hash without the writer's help. Verifying a supplied hash in the trigger instead would cost
what computing it costs, the per-row lookup the bulk path exists to avoid."""
from alembic import op

GENESIS = "0" * 64
PRECOMPUTED = "parcours.chain_precomputed"   # a transaction's declaration that its rows carry their hashes


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


def _chain_trigger(schema: str, when: str) -> None:
    op.execute(f"DROP TRIGGER events_chain ON {schema}.events")
    op.execute(f"""CREATE TRIGGER events_chain BEFORE INSERT ON {schema}.events
                   FOR EACH ROW {when} EXECUTE FUNCTION {schema}.chain_event()""")


def allow_precomputed_chain(schema: str) -> None:
    """The trigger skips rows that carry their hash in a transaction declaring them precomputed."""
    _chain_trigger(schema, f"WHEN (NEW.hash IS NULL OR current_setting('{PRECOMPUTED}', true) IS DISTINCT FROM 'on')")


def compute_every_chain(schema: str) -> None:
    """Undoes allow_precomputed_chain: the trigger hashes every row."""
    _chain_trigger(schema, "")
