"""The money loop reads advances and payments by account (CFA x OPCO, or a CFA by its SIRET):
indexes for those reads (without them, each invoiceable list and each invoice issued scanned
every advance).

Revision ID: financing_0009
"""
from alembic import op

revision = "financing_0009"
down_revision = "financing_0008"


def upgrade():
    op.execute("CREATE INDEX advances_account ON financing.advances (cfa_uai, opco)")
    op.execute("CREATE INDEX advances_cfa_siret ON financing.advances (cfa_siret)")
    op.execute("CREATE INDEX billing_payments_account ON financing.billing_payments (cfa_uai, opco)")


def downgrade():
    for index in ("billing_payments_account", "advances_cfa_siret", "advances_account"):
        op.execute(f"DROP INDEX financing.{index}")
