"""The money loop (docs/billing.md): invoices, their lines, payments, regularisations (projections
of the financing store's invoice-, payment- and regularisation- streams, rebuilt from it), the
gap-free document numbers per CFA and year, and the employer's contribution on each advance.

``billing_lines`` holds the guarantees: an advance, a fee claim or a regularisation is on one
active invoice at most (unique partial indexes); ``billing_payments`` one payment per OPCO and
bank reference.

Revision ID: financing_0008
"""
from alembic import op

revision = "financing_0008"
down_revision = "financing_0007"


def upgrade():
    op.execute("ALTER TABLE financing.advances ADD COLUMN employer_contribution numeric(12, 2)")
    op.execute("""
        CREATE TABLE financing.billing_invoices (
            invoice_id text PRIMARY KEY,
            number text NOT NULL UNIQUE,
            cfa_uai text NOT NULL,
            cfa_siret text,
            opco text NOT NULL,
            issued_on date NOT NULL,
            payment_due_on date NOT NULL,
            status text NOT NULL,
            total numeric(12, 2) NOT NULL,
            paid numeric(12, 2) NOT NULL,
            version integer NOT NULL,
            seq bigint NOT NULL,
            document jsonb NOT NULL
        )""")
    op.execute("CREATE INDEX billing_invoices_cfa ON financing.billing_invoices (cfa_uai, opco, seq)")
    op.execute("CREATE INDEX billing_invoices_opco ON financing.billing_invoices (opco, seq)")
    op.execute("""
        CREATE TABLE financing.billing_lines (
            invoice_id text NOT NULL,
            line_no integer NOT NULL,
            kind text NOT NULL,
            contract_id text NOT NULL,
            funding_year integer,
            advance integer,
            claim_id text,
            regularisation_id text,
            amount numeric(12, 2) NOT NULL,
            active boolean NOT NULL,
            PRIMARY KEY (invoice_id, line_no)
        )""")
    op.execute("CREATE UNIQUE INDEX billing_advance_once ON financing.billing_lines "
               "(contract_id, funding_year, advance) WHERE kind = 'advance' AND active")
    op.execute("CREATE UNIQUE INDEX billing_fee_once ON financing.billing_lines (claim_id) "
               "WHERE claim_id IS NOT NULL AND active")
    op.execute("CREATE UNIQUE INDEX billing_regularisation_once ON financing.billing_lines (regularisation_id) "
               "WHERE regularisation_id IS NOT NULL AND active")
    op.execute("CREATE INDEX billing_lines_contract ON financing.billing_lines (contract_id)")
    op.execute("""
        CREATE TABLE financing.billing_payments (
            payment_id text PRIMARY KEY,
            opco text NOT NULL,
            cfa_uai text NOT NULL,
            amount numeric(12, 2) NOT NULL,
            allocated numeric(12, 2) NOT NULL,
            paid_on date NOT NULL,
            bank_reference text NOT NULL,
            document jsonb NOT NULL,
            UNIQUE (opco, bank_reference)
        )""")
    op.execute("""
        CREATE TABLE financing.billing_regularisations (
            regularisation_id text PRIMARY KEY,
            contract_id text NOT NULL,
            funding_year integer NOT NULL,
            advance integer NOT NULL,
            cfa_uai text NOT NULL,
            opco text NOT NULL,
            amount numeric(12, 2) NOT NULL,
            settled_by text,
            document jsonb NOT NULL
        )""")
    op.execute("CREATE INDEX billing_regularisations_ledger ON financing.billing_regularisations (cfa_uai, opco)")
    op.execute("""
        CREATE TABLE financing.document_numbers (
            cfa_uai text NOT NULL,
            year integer NOT NULL,
            last integer NOT NULL,
            PRIMARY KEY (cfa_uai, year)
        )""")
    op.execute("CREATE INDEX events_ledger ON financing.events ((metadata->>'ledger')) "
               "WHERE metadata ? 'ledger'")


def downgrade():
    op.execute("DROP INDEX financing.events_ledger")
    for table in ("document_numbers", "billing_regularisations", "billing_payments", "billing_lines",
                  "billing_invoices"):
        op.execute(f"DROP TABLE financing.{table}")
    op.execute("ALTER TABLE financing.advances DROP COLUMN employer_contribution")
