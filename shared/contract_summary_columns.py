"""The columns every service's summary of a contract starts with: its key, the parties the
tenancy rule matches (kernel/access.py ``MATCHED_BY``: the CFA's UAI or SIRET, the OPCO), its
dates, its status and the version of its stream it reflects. The contracts read model and the
financing projection each add their own columns."""
from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, Text, func


def contract_summary_columns() -> list[Column]:
    """New Column objects (a column belongs to one table)."""
    return [Column("contract_id", Text, primary_key=True),
            Column("apprentice_id", Text, nullable=False),
            Column("cfa_uai", Text, nullable=False),
            Column("cfa_siret", Text),
            Column("opco", Text),
            Column("signed_on", Date, nullable=False),
            Column("start_date", Date, nullable=False),
            Column("planned_end_date", Date, nullable=False),
            Column("status", Text, nullable=False),
            Column("version", Integer, nullable=False),
            Column("updated_at", DateTime(timezone=True), server_default=func.now())]
