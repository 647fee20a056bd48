"""The financing projection of contract events (consumer group ``financing.contracts``), as the
consumer runner and the ops rebuild drive it: ``apply(conn, events)`` in their transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from services.financing.application.apply_contract_events import apply_contract_events


class FinancingProjection:
    name = "financing.contracts"

    def __init__(self, clock):
        self.clock = clock

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        await apply_contract_events(SqlUnitOfWork.joining(conn), events, self.clock.today())
