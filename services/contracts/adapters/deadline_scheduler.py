"""The deadline scheduler on a database: each batch in a unit of work of its own
(application/scheduler.py decides what is raised)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.application.scheduler import raise_due_deadlines


async def tick(engine: AsyncEngine, today: date, batch: int = 200) -> int:
    """Raise every deadline event due before ``today``; returns how many were raised."""
    return await raise_due_deadlines(lambda: SqlUnitOfWork(engine), today, batch)
