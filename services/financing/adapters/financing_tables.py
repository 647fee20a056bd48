"""The financing schema: the contract events consumed (inputs of every computation and of time
travel), contract summaries, funding years and advances (what the projection computed), the NPEC
referential, frais annexes. Migrations: adapters/migrations/versions/."""
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text,
                        func)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.contract_summary_columns import contract_summary_columns

SCHEMA = "financing"
md = MetaData(schema=SCHEMA)
contracts = Table("contracts", md, *contract_summary_columns(),
                  Column("regime", Text, nullable=False),
                  Column("planned_months", Integer, nullable=False))
contract_events = Table("contract_events", md,
                        Column("arrival", BigInteger),
                        Column("event_id", UUID(as_uuid=False), primary_key=True),
                        Column("apprentice_id", Text, nullable=False),
                        Column("contract_id", Text, nullable=False),
                        Column("sequence", Integer),
                        Column("type", Text, nullable=False),
                        Column("data", JSONB, nullable=False),
                        Column("recorded_at", DateTime(timezone=True), nullable=False))
lines = Table("lines", md,
              Column("contract_id", Text, primary_key=True),
              Column("funding_year", Integer, primary_key=True),
              Column("apprentice_id", Text, nullable=False),
              Column("opco", Text), Column("cfa_uai", Text),
              Column("period_start", Date, nullable=False), Column("period_end", Date, nullable=False),
              Column("units", Integer, nullable=False), Column("unit", Text, nullable=False),
              Column("amount", Numeric(12, 2)), Column("regime", Text, nullable=False),
              Column("status", Text, nullable=False), Column("employer_contribution", Numeric(12, 2)),
              Column("npec_source", Text))
advances = Table("advances", md,
                 Column("contract_id", Text, primary_key=True),
                 Column("funding_year", Integer, primary_key=True),
                 Column("advance", Integer, primary_key=True),
                 Column("apprentice_id", Text, nullable=False),
                 Column("opco", Text), Column("cfa_uai", Text),
                 Column("amount", Numeric(12, 2), nullable=False),
                 Column("due_on", Date, nullable=False), Column("latest_on", Date),
                 Column("cfa_siret", Text), Column("employer_contribution", Numeric(12, 2)))
npec_rows = Table("npec_rows", md,
                  Column("rncp", Text, primary_key=True), Column("cpne", Text, primary_key=True),
                  Column("npec", Numeric(12, 2), nullable=False),
                  Column("applicable_from", Date, primary_key=True), Column("file_date", Date, primary_key=True),
                  Column("label", Text), Column("status", Text))
cpne_idcc = Table("cpne_idcc", md,
                  Column("cpne", Text, primary_key=True), Column("idcc", Text, primary_key=True),
                  Column("file_date", Date, nullable=False))
fees = Table("fees", md,
             Column("claim_id", Text, primary_key=True),
             Column("apprentice_id", Text, nullable=False), Column("contract_id", Text, nullable=False),
             Column("opco", Text), Column("cfa_uai", Text), Column("kind", Text, nullable=False),
             Column("day", Date, nullable=False), Column("quantity", Integer, nullable=False),
             Column("amount", Numeric(12, 2), nullable=False), Column("funding_year", Integer),
             Column("advance", Integer), Column("recorded_at", DateTime(timezone=True), server_default=func.now()))

# The money loop (migration 0008, docs/billing.md): folded states of the financing store's streams.
billing_invoices = Table("billing_invoices", md,
                         Column("invoice_id", Text, primary_key=True), Column("number", Text, nullable=False),
                         Column("cfa_uai", Text, nullable=False), Column("cfa_siret", Text),
                         Column("opco", Text, nullable=False), Column("issued_on", Date, nullable=False),
                         Column("payment_due_on", Date, nullable=False), Column("status", Text, nullable=False),
                         Column("total", Numeric(12, 2), nullable=False), Column("paid", Numeric(12, 2), nullable=False),
                         Column("version", Integer, nullable=False), Column("seq", BigInteger, nullable=False),
                         Column("document", JSONB, nullable=False))
billing_lines = Table("billing_lines", md,
                      Column("invoice_id", Text, primary_key=True), Column("line_no", Integer, primary_key=True),
                      Column("kind", Text, nullable=False), Column("contract_id", Text, nullable=False),
                      Column("funding_year", Integer), Column("advance", Integer), Column("claim_id", Text),
                      Column("regularisation_id", Text), Column("amount", Numeric(12, 2), nullable=False),
                      Column("active", Boolean, nullable=False))
billing_payments = Table("billing_payments", md,
                         Column("payment_id", Text, primary_key=True), Column("opco", Text, nullable=False),
                         Column("cfa_uai", Text, nullable=False), Column("amount", Numeric(12, 2), nullable=False),
                         Column("allocated", Numeric(12, 2), nullable=False), Column("paid_on", Date, nullable=False),
                         Column("bank_reference", Text, nullable=False), Column("document", JSONB, nullable=False))
billing_regularisations = Table("billing_regularisations", md,
                                Column("regularisation_id", Text, primary_key=True),
                                Column("contract_id", Text, nullable=False),
                                Column("funding_year", Integer, nullable=False),
                                Column("advance", Integer, nullable=False), Column("cfa_uai", Text, nullable=False),
                                Column("opco", Text, nullable=False), Column("amount", Numeric(12, 2), nullable=False),
                                Column("settled_by", Text), Column("document", JSONB, nullable=False))
document_numbers = Table("document_numbers", md,
                         Column("cfa_uai", Text, primary_key=True), Column("year", Integer, primary_key=True),
                         Column("last", Integer, nullable=False))
