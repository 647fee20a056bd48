"""What every service's SQL unit of work shares (SQLAlchemy Core on asyncpg): the transaction
handling. A service's unit names its schema and binds its repositories to the connection
(``bind_ports``); see services/<name>/adapters/sql_unit_of_work.py.

``Unit(engine)`` opens a connection on entry and gives it back on exit, rolling back what was not
committed; with ``snapshot=True`` its transaction is REPEATABLE READ, so that an answer read in
several statements sees one state. ``Unit.joining(conn)`` works inside a transaction someone else
owns (the consumer's batch, the ops rebuild's connection with its ``schema_translate_map``, the
bench's signatures): entering and committing it leave that transaction to its owner. A unit
entered again (a handler inside the idempotent POST) joins its own outer entry."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.api.idempotency import Outcome, once
from shared.db import UnitConnection


class SqlIdempotency:
    """The API's stored responses (Idempotency-Key), claimed in the unit's transaction."""

    def __init__(self, conn: AsyncConnection, schema: str):
        self.conn, self.schema = conn, schema

    async def once(self, key_id: str, idempotency_key: str | None, request_hash: str,
                   action: Callable[[], Awaitable[Outcome]]) -> Outcome:
        return await once(self.conn, self.schema, key_id, idempotency_key, request_hash, action)


class SqlUnitOfWorkBase:
    schema: ClassVar[str]

    def __init__(self, engine: AsyncEngine | None = None, *, snapshot: bool = False,
                 conn: AsyncConnection | None = None):
        self._engine, self._snapshot, self._owned, self._depth = engine, snapshot, conn is None, 0
        if conn is not None:
            self._bind(conn)

    @classmethod
    def joining(cls, conn: AsyncConnection):
        return cls(conn=conn)

    def bind_ports(self, conn: AsyncConnection) -> None:
        """Sets the service's repositories on ``self``, each over ``conn``."""
        raise NotImplementedError

    def _bind(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.idempotency = SqlIdempotency(conn, self.schema)
        self.bind_ports(conn)

    async def __aenter__(self):
        if self._owned and self._depth == 0:
            conn = await UnitConnection.open(self._engine, "REPEATABLE READ" if self._snapshot else None)
            try:
                self._bind(conn)
            except BaseException:
                await conn.release()
                raise
        self._depth += 1
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._owned and self._depth == 0:
            await self.connection.release()   # rolls back what was not committed

    async def commit(self) -> None:
        if self._owned and self._depth == 1:
            await self.connection.commit_transaction()
