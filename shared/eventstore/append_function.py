"""Alembic operations adding the store's append function: the version check and the insert in
one round trip, all or nothing, without a savepoint.

``{schema}.append_events`` locks the streams it appends to (transaction-level advisory locks in
a key space of the store's own, in stream order, so two multi-stream appends cannot deadlock),
then reads their versions with a fresh snapshot (each statement of a VOLATILE function takes
one, so a competitor that held the lock and committed is seen), and inserts only if every
stream is where the caller expected. Stale streams come back as rows with ``conflict`` set and
nothing is written, so the caller's transaction stays usable for a retry. The unique
``(stream_id, stream_version)`` constraint remains the last guard for writers that bypass it."""
from alembic import op


def add_append_function(schema: str) -> None:
    op.execute(f"""
        CREATE FUNCTION {schema}.append_events(
            p_streams text[], p_expected int[],
            e_streams text[], e_versions int[], e_ids uuid[], e_types text[], e_schema_versions int[],
            e_data text[], e_metadata text[])
        RETURNS TABLE (conflict boolean, global_position bigint, transaction_id text, stream_id text,
                       stream_version int, event_id uuid, type text, schema_version int, data jsonb,
                       metadata jsonb, recorded_at timestamptz)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
        DECLARE stale int;
        BEGIN
          PERFORM count(pg_advisory_xact_lock(hashtext('{schema}.events'), hashtext(s)))
             FROM (SELECT DISTINCT s FROM unnest(p_streams) AS s ORDER BY s) AS ordered;
          RETURN QUERY
            SELECT true, NULL::bigint, NULL::text, w.s, coalesce(v.version, 0), NULL::uuid, NULL::text,
                   w.expected, NULL::jsonb, NULL::jsonb, NULL::timestamptz
              FROM unnest(p_streams, p_expected) AS w(s, expected)
              LEFT JOIN LATERAL (SELECT max(ev.stream_version) AS version FROM {schema}.events ev
                                  WHERE ev.stream_id = w.s) AS v ON true
             WHERE coalesce(v.version, 0) <> w.expected;
          GET DIAGNOSTICS stale = ROW_COUNT;
          IF stale > 0 THEN
            RETURN;
          END IF;
          RETURN QUERY
            INSERT INTO {schema}.events AS ev (stream_id, stream_version, event_id, type, schema_version, data,
                                               metadata)
            SELECT u.s, u.v, u.id, u.t, u.sv, u.d::jsonb, u.m::jsonb
              FROM unnest(e_streams, e_versions, e_ids, e_types, e_schema_versions, e_data, e_metadata)
                   WITH ORDINALITY AS u(s, v, id, t, sv, d, m, n)
             ORDER BY u.n
            RETURNING false, ev.global_position, ev.transaction_id::text, ev.stream_id, ev.stream_version,
                      ev.event_id, ev.type, ev.schema_version, ev.data, ev.metadata, ev.recorded_at;
        END $$""")


APPEND_SIGNATURE = "append_events(text[], int[], text[], int[], uuid[], text[], int[], text[], text[])"


def plan_generically(*functions: str) -> None:
    """Each function (schema-qualified, with its argument types) plans its queries once per
    session and keeps the plan: PostgreSQL otherwise re-plans a plpgsql query each call while it
    deems a plan for the arguments' values cheaper than the generic one, which it always does for
    the append's version check over ``unnest`` of one-element arrays (0.15 ms of planning an
    append, measured with pg_stat_statements' track_planning under the bench's signatures). The
    generic plans are the same index lookups."""
    for function in functions:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_generic_plan")


def plan_as_before(*functions: str) -> None:
    for function in functions:
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")


def drop_append_function(schema: str) -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {schema}.{APPEND_SIGNATURE}")
