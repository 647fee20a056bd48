"""Contracts event store and the contracts read model.

Revision ID: contracts_0001
"""
from alembic import op

from shared.eventstore.migration import create_event_store

revision = "contracts_0001"
down_revision = None


def upgrade():
    create_event_store("contracts")
    op.execute("""
        CREATE TABLE contracts.contracts (
            contract_id text PRIMARY KEY,
            apprentice_id text NOT NULL,
            cfa_uai text NOT NULL,
            cfa_siret text,
            opco text,
            status text NOT NULL,
            version integer NOT NULL,
            signed_on date NOT NULL,
            start_date date NOT NULL,
            planned_end_date date NOT NULL,
            state jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX contracts_by_cfa ON contracts.contracts (cfa_uai, signed_on, contract_id)")
    op.execute("CREATE INDEX contracts_by_opco ON contracts.contracts (opco, signed_on, contract_id)")
    op.execute("CREATE INDEX contracts_by_apprentice ON contracts.contracts (apprentice_id)")


def downgrade():
    op.execute("DROP SCHEMA contracts CASCADE")
