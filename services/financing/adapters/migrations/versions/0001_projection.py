"""Financing: consumer bookkeeping and the contracts projection.

Revision ID: financing_0001
"""
from alembic import op

from shared.eventstore.migration import create_event_store
from shared.messaging.consumer_tables import create_consumer_tables_sql

revision = "financing_0001"
down_revision = None


def upgrade():
    create_event_store("financing")
    for sql in create_consumer_tables_sql("financing"):
        op.execute(sql)
    op.execute("""
        CREATE TABLE financing.contracts (
            contract_id text PRIMARY KEY,
            apprentice_id text NOT NULL,
            cfa_uai text NOT NULL,
            cfa_siret text,
            opco text,
            regime text NOT NULL,
            signed_on date NOT NULL,
            start_date date NOT NULL,
            planned_end_date date NOT NULL,
            planned_months integer NOT NULL,
            status text NOT NULL,
            version integer NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX fin_contracts_by_apprentice ON financing.contracts (apprentice_id)")
    op.execute("CREATE INDEX fin_contracts_by_opco ON financing.contracts (opco)")


def downgrade():
    op.execute("DROP SCHEMA financing CASCADE")
