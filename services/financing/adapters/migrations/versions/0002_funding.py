"""Funding projection: the contract events consumed (time travel), spans, funding-year lines,
advances, the NPEC referential, frais annexes, idempotency keys.

Revision ID: financing_0002
"""
from alembic import op

from shared.api.idempotency import create_idempotency_table_sql

revision = "financing_0002"
down_revision = "financing_0001"


def upgrade():
    op.execute("""
        CREATE TABLE financing.contract_events (
            arrival bigint GENERATED ALWAYS AS IDENTITY,
            event_id uuid PRIMARY KEY,
            apprentice_id text NOT NULL,
            contract_id text NOT NULL,
            sequence integer,
            type text NOT NULL,
            data jsonb NOT NULL,
            recorded_at timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX contract_events_path ON financing.contract_events (apprentice_id, arrival)")
    op.execute("CREATE INDEX contract_events_contract ON financing.contract_events (contract_id)")
    op.execute("""
        CREATE TABLE financing.spans (
            contract_id text PRIMARY KEY,
            apprentice_id text NOT NULL,
            opco text,
            cfa_uai text,
            start_on date NOT NULL,
            end_on date NOT NULL,
            status text NOT NULL,
            start_reason text NOT NULL,
            end_reason text NOT NULL
        )""")
    op.execute("CREATE INDEX spans_apprentice ON financing.spans (apprentice_id)")
    op.execute("""
        CREATE TABLE financing.lines (
            contract_id text NOT NULL,
            funding_year integer NOT NULL,
            apprentice_id text NOT NULL,
            opco text,
            cfa_uai text,
            period_start date NOT NULL,
            period_end date NOT NULL,
            units integer NOT NULL,
            unit text NOT NULL,
            amount numeric(12, 2),
            regime text NOT NULL,
            status text NOT NULL,
            employer_contribution numeric(12, 2),
            PRIMARY KEY (contract_id, funding_year)
        )""")
    op.execute("CREATE INDEX lines_apprentice ON financing.lines (apprentice_id)")
    op.execute("""
        CREATE TABLE financing.advances (
            contract_id text NOT NULL,
            funding_year integer NOT NULL,
            advance integer NOT NULL,
            apprentice_id text NOT NULL,
            opco text,
            cfa_uai text,
            amount numeric(12, 2) NOT NULL,
            due_on date NOT NULL,
            latest_on date,
            PRIMARY KEY (contract_id, funding_year, advance)
        )""")
    op.execute("CREATE INDEX advances_opco_due ON financing.advances (opco, due_on)")
    op.execute("CREATE INDEX advances_apprentice ON financing.advances (apprentice_id)")
    op.execute("""
        CREATE TABLE financing.npec_rows (
            rncp text NOT NULL,
            cpne text NOT NULL,
            npec numeric(12, 2) NOT NULL,
            applicable_from date NOT NULL,
            file_date date NOT NULL,
            label text,
            status text,
            PRIMARY KEY (rncp, cpne, applicable_from, file_date)
        )""")
    op.execute("""
        CREATE TABLE financing.cpne_idcc (
            cpne text NOT NULL,
            idcc text NOT NULL,
            file_date date NOT NULL,
            PRIMARY KEY (cpne, idcc)
        )""")
    op.execute(create_idempotency_table_sql("financing"))


def downgrade():
    for t in ("contract_events", "spans", "lines", "advances", "npec_rows", "cpne_idcc", "idempotency_keys"):
        op.execute(f"DROP TABLE financing.{t}")
