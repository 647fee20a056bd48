"""Frais annexes.

Revision ID: financing_0003
"""
from alembic import op

revision = "financing_0003"
down_revision = "financing_0002"


def upgrade():
    op.execute("""
        CREATE TABLE financing.fees (
            claim_id text PRIMARY KEY,
            apprentice_id text NOT NULL,
            contract_id text NOT NULL,
            opco text,
            cfa_uai text,
            kind text NOT NULL,
            day date NOT NULL,
            quantity integer NOT NULL,
            amount numeric(12, 2) NOT NULL,
            funding_year integer,
            advance integer,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE UNIQUE INDEX fees_once_a_day ON financing.fees (apprentice_id, kind, day) "
               "WHERE kind <> 'first_equipment'")
    op.execute("CREATE UNIQUE INDEX fees_first_equipment_once ON financing.fees (apprentice_id) "
               "WHERE kind = 'first_equipment'")
    op.execute("CREATE INDEX fees_contract ON financing.fees (contract_id)")


def downgrade():
    op.execute("DROP TABLE financing.fees")
