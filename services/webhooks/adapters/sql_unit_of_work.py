"""The webhooks unit of work over one PostgreSQL connection (transactions: shared/sql_unit_of_work.py)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.webhooks.adapters.tables import SCHEMA
from services.webhooks.adapters.webhook_store import SqlDeliveries, SqlEndpoints, SqlMessages
from shared.sql_unit_of_work import SqlUnitOfWorkBase


class SqlUnitOfWork(SqlUnitOfWorkBase):
    schema = SCHEMA

    def bind_ports(self, conn: AsyncConnection) -> None:
        self.endpoints = SqlEndpoints(conn)
        self.messages = SqlMessages(conn)
        self.deliveries = SqlDeliveries(conn)
