"""The contracts unit of work over one PostgreSQL connection: the streams, the read model, the
deadlines and the stored answers change in one transaction (the transaction handling is
shared/sql_unit_of_work.py)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.contract_listing import SqlContractViews, UnheldReads
from services.contracts.adapters.contract_streams import SqlContractStreams
from services.contracts.adapters.due_deadlines import SqlDeadlines
from services.contracts.adapters.secrets import SqlSecrets
from services.contracts.adapters.tables import SCHEMA
from shared.sql_unit_of_work import SqlUnitOfWorkBase


class SqlUnitOfWork(SqlUnitOfWorkBase):
    schema = SCHEMA

    def bind_ports(self, conn: AsyncConnection) -> None:
        unheld = UnheldReads()   # what the views read without holding it, the streams' append guards
        self.contracts = SqlContractStreams(conn, unheld)
        self.views = SqlContractViews(conn, unheld)
        self.deadlines = SqlDeadlines(conn)
        self.secrets = SqlSecrets(conn)
