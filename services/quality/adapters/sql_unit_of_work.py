"""The quality unit of work over one PostgreSQL connection: records and their events, absences,
the contract events received, the dashboard sessions and the stored answers change in one
transaction (the transaction handling is shared/sql_unit_of_work.py; ``snapshot=True`` for the
board, read in several statements)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.absences_store import SqlAbsences
from services.quality.adapters.contract_events_store import SqlContractEvents
from services.quality.adapters.dashboard_sessions import SqlDashboardSessions
from services.quality.adapters.quality_records_store import SqlQualityEvents, SqlQualityRecords
from services.quality.adapters.quality_tables import SCHEMA
from services.quality.adapters.webhook_health import SqlWebhookHealth
from shared.sql_unit_of_work import SqlUnitOfWorkBase


class SqlUnitOfWork(SqlUnitOfWorkBase):
    schema = SCHEMA

    def bind_ports(self, conn: AsyncConnection) -> None:
        self.records = SqlQualityRecords(conn)
        self.events = SqlQualityEvents(conn)
        self.absences = SqlAbsences(conn)
        self.contract_events = SqlContractEvents(conn)
        self.sessions = SqlDashboardSessions(conn)
        self.webhooks = SqlWebhookHealth(conn)
