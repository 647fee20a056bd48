"""Kept for the callers outside the service (operations/, bench/, tests/integration/test_rebuild.py)
that import the store, ``save_views`` and ``ContractsUnitOfWork`` from here: the port is
application/unit_of_work.py, the SQL unit adapters/sql_unit_of_work.py."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.adapters.view_writes import save_views, view_row

__all__ = ["ContractsUnitOfWork", "save_views", "store", "view_row"]


def ContractsUnitOfWork(conn: AsyncConnection) -> SqlUnitOfWork:  # noqa: N802 - the old class's name
    """A unit of work inside the caller's transaction (the caller commits)."""
    return SqlUnitOfWork.joining(conn)
