"""Quality records, absences, contract events consumed, dashboard sessions, idempotency.

Revision ID: quality_0003
"""
from alembic import op

from shared.api.idempotency import create_idempotency_table_sql
from shared.messaging.consumer_tables import create_consumer_tables_sql

revision = "quality_0003"
down_revision = "quality_0002"


def upgrade():
    op.execute("""
        CREATE TABLE quality.records (
            record_id text PRIMARY KEY,
            cfa text NOT NULL,
            kind text NOT NULL,
            status text NOT NULL,
            occurred_on date NOT NULL,
            data jsonb NOT NULL,
            history jsonb NOT NULL DEFAULT '[]'::jsonb,
            version integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX records_by_cfa ON quality.records (cfa, kind, occurred_on, record_id)")
    op.execute("""
        CREATE TABLE quality.absences (
            cfa text NOT NULL,
            erp_record_id text NOT NULL,
            apprentice_id text NOT NULL,
            grp text,
            day date NOT NULL,
            hours numeric(5, 2) NOT NULL,
            justified boolean NOT NULL,
            PRIMARY KEY (cfa, erp_record_id)
        )""")
    op.execute("CREATE INDEX absences_by_day ON quality.absences (cfa, day)")
    op.execute("""
        CREATE TABLE quality.contract_events (
            arrival bigint GENERATED ALWAYS AS IDENTITY,
            event_id uuid PRIMARY KEY,
            contract_id text NOT NULL,
            cfa text,
            type text NOT NULL,
            data jsonb NOT NULL,
            recorded_at timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX quality_contract_events_contract ON quality.contract_events (contract_id, arrival)")
    op.execute("CREATE INDEX quality_contract_events_cfa ON quality.contract_events (cfa) WHERE cfa IS NOT NULL")
    op.execute("""
        CREATE TABLE quality.sessions (
            session_hash text PRIMARY KEY,
            key_id text NOT NULL,
            expires_at timestamptz NOT NULL
        )""")
    for sql in create_consumer_tables_sql("quality"):
        op.execute(sql)
    op.execute(create_idempotency_table_sql("quality"))
    op.execute("ALTER TABLE quality.idempotency_keys ALTER COLUMN body TYPE text USING body::text")


def downgrade():
    for t in ("records", "absences", "contract_events", "sessions", "consumer_offsets", "consumer_streams",
              "idempotency_keys"):
        op.execute(f"DROP TABLE quality.{t}")
