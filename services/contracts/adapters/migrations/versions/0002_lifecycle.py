"""Deadlines and idempotency keys.

Revision ID: contracts_0002
"""
from alembic import op

from shared.api.idempotency import create_idempotency_table_sql

revision = "contracts_0002"
down_revision = "contracts_0001"


def upgrade():
    op.execute("""
        CREATE TABLE contracts.deadlines (
            contract_id text NOT NULL,
            kind text NOT NULL,
            due_on date NOT NULL,
            PRIMARY KEY (contract_id, kind)
        )""")
    op.execute("CREATE INDEX deadlines_due ON contracts.deadlines (due_on)")
    op.execute(create_idempotency_table_sql("contracts"))


def downgrade():
    op.execute("DROP TABLE contracts.deadlines")
    op.execute("DROP TABLE contracts.idempotency_keys")
