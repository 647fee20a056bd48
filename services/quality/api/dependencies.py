"""What the quality routes depend on: a unit of work (a plain one for commands, a snapshot for
the board, read in several statements), the clock; and the OpenAPI example helper."""
from __future__ import annotations

from typing import Any

from services.quality.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.api.dependencies import CurrentClock, units_of_work  # noqa: F401 (routes import CurrentClock from here)

UnitOfWork, SnapshotUnitOfWork = units_of_work(SqlUnitOfWork)


def example(value: Any) -> dict:
    """An OpenAPI answer's content with this example."""
    return {"content": {"application/json": {"example": value}}}
