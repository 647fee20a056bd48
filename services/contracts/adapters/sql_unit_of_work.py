"""The contracts unit of work over one PostgreSQL connection (SQLAlchemy Core on asyncpg): the
streams, the read model and the deadlines change in one transaction.

``SqlUnitOfWork(engine)`` opens a connection on entry and gives it back on exit, rolling back
what was not committed. ``SqlUnitOfWork.joining(conn)`` works inside a transaction someone else
owns (the bench's signatures): entering and committing it leave that transaction to its owner.
A unit entered again (a handler inside the idempotent POST) joins its own outer entry."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contracts.adapters.contract_listing import SqlContractViews
from services.contracts.adapters.contract_streams import SqlContractStreams
from services.contracts.adapters.due_deadlines import SqlDeadlines
from services.contracts.adapters.tables import SCHEMA
from shared.api.idempotency import Outcome, once


class SqlIdempotency:
    """The API's stored responses (Idempotency-Key), claimed in the unit's transaction."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def once(self, key_id: str, idempotency_key: str | None, request_hash: str,
                   action: Callable[[], Awaitable[Outcome]]) -> Outcome:
        return await once(self.conn, SCHEMA, key_id, idempotency_key, request_hash, action)


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine | None = None, *, conn: AsyncConnection | None = None):
        self._engine, self._owned, self._depth = engine, conn is None, 0
        if conn is not None:
            self._bind(conn)

    @classmethod
    def joining(cls, conn: AsyncConnection) -> SqlUnitOfWork:
        return cls(conn=conn)

    def _bind(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.contracts = SqlContractStreams(conn)
        self.views = SqlContractViews(conn)
        self.deadlines = SqlDeadlines(conn)
        self.idempotency = SqlIdempotency(conn)

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._owned and self._depth == 0:
            self._bind(await self._engine.connect())
        self._depth += 1
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._owned and self._depth == 0:
            try:
                if self.connection.in_transaction():
                    await self.connection.rollback()
            finally:
                await self.connection.close()

    async def commit(self) -> None:
        if self._owned and self._depth == 1:
            await self.connection.commit()
