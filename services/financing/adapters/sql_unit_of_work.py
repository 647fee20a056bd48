"""The financing unit of work over one PostgreSQL connection: the projection's writes, the funding
reads, the NPEC referential, the fee claims and the stored answers change in one transaction
(the transaction handling is shared/sql_unit_of_work.py)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.billing_store import SqlBilling
from services.financing.adapters.fee_claims_store import SqlFeeClaims
from services.financing.adapters.financing_tables import SCHEMA
from services.financing.adapters.funding_reads import SqlFundingReads
from services.financing.adapters.projection_writes import SqlProjectionWrites
from services.financing.adapters.referential import SqlReferentialStore
from shared.sql_unit_of_work import SqlUnitOfWorkBase


class SqlUnitOfWork(SqlUnitOfWorkBase):
    schema = SCHEMA

    def bind_ports(self, conn: AsyncConnection) -> None:
        self.projection = SqlProjectionWrites(conn)
        self.reads = SqlFundingReads(conn)
        self.referential = SqlReferentialStore(conn)
        self.fee_claims = SqlFeeClaims(conn)
        self.billing = SqlBilling(conn)
