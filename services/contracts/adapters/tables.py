"""The contracts read model and deadlines (updated in the same transaction as each append)."""
from sqlalchemy import Column, Date, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from shared.contract_summary_columns import contract_summary_columns

SCHEMA = "contracts"
md = MetaData(schema=SCHEMA)
contracts = Table("contracts", md, *contract_summary_columns(),
                  Column("state", JSONB, nullable=False))
deadlines = Table("deadlines", md,
                  Column("contract_id", Text, primary_key=True),
                  Column("kind", Text, primary_key=True),
                  Column("due_on", Date, nullable=False))
