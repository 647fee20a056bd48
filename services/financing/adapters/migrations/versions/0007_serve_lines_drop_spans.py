"""Funding read from what the projection stores: ``lines`` carry the NPEC's source (the contract's
funding now reads its funding years there instead of recomputing them with the referential),
``advances`` the CFA's SIRET (a CFA keyed by SIRET sees its commitment lines, shared/tenancy.py);
``spans`` is dropped: no reader, and every reader folds the path's events, which give the spans
without the referential.

Rows written before this revision have no NPEC source: the contract's funding recomputes those
paths until the projection next touches them (or ``parcours ops rebuild financing --swap``).

Revision ID: financing_0007
"""
from alembic import op

revision = "financing_0007"
down_revision = "financing_0006"


def upgrade():
    op.execute("DROP TABLE financing.spans")
    op.execute("ALTER TABLE financing.lines ADD COLUMN npec_source text")
    op.execute("ALTER TABLE financing.advances ADD COLUMN cfa_siret text")
    op.execute("UPDATE financing.advances a SET cfa_siret = c.cfa_siret FROM financing.contracts c "
               "WHERE c.contract_id = a.contract_id")


def downgrade():
    op.execute("ALTER TABLE financing.advances DROP COLUMN cfa_siret")
    op.execute("ALTER TABLE financing.lines DROP COLUMN npec_source")
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
