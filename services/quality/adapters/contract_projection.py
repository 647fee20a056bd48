"""The quality projection of contract events (consumer group ``quality.contracts``), as the
consumer runner and the ops rebuild drive it: ``apply(conn, events)`` in their transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.sql_unit_of_work import SqlUnitOfWork
from services.quality.application.apply_contract_events import apply_contract_events


class QualityProjection:
    name = "quality.contracts"

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        await apply_contract_events(SqlUnitOfWork.joining(conn), events)
