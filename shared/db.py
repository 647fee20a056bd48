"""Async engine construction (SQLAlchemy 2.0 Core on asyncpg)."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Mapping

import asyncpg
import orjson
from sqlalchemy import JSON, exc, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import asyncpg as _asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.settings import Settings


def make_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "parcours",
            }
        },
    )



def asyncpg_dsn(database_url: str) -> str:
    """The settings' SQLAlchemy URL as asyncpg's own DSN (a connection of its own, outside the pool)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class UnitConnection(AsyncConnection):
    """The connection of a unit of work that owns its transaction (shared/sql_unit_of_work.py):
    a SQLAlchemy connection from the engine's pool whose transaction runs on the driver. BEGIN
    is asyncpg's, at the first statement, raw (``driver_connection``) or SQLAlchemy's (the
    adapter begins it the same way and both share it); COMMIT and ROLLBACK are asyncpg's too,
    without SQLAlchemy's transaction object, events and greenlet hops. Only the checkout and the
    checkin go through SQLAlchemy (its pool: size, overflow, reset, invalidation)."""
    __slots__ = ("_adapted", "_broken")

    @classmethod
    async def open(cls, engine: AsyncEngine, isolation_level: str | None = None) -> "UnitConnection":
        conn = cls(engine)
        await conn.start()
        try:
            if isolation_level is not None:   # set on the DBAPI connection, reset at checkin
                await conn.execution_options(isolation_level=isolation_level)
            conn._adapted = conn.sync_connection._dbapi_connection.dbapi_connection
            conn._broken = False
        except BaseException:
            await conn.close()
            raise
        return conn

    async def driver(self):
        """The asyncpg connection, in this connection's transaction (begun here if not yet)."""
        apg, in_transaction = self.outside()
        if not in_transaction:
            await self._adapted._start_transaction()
        return apg

    def outside(self):
        """``(the asyncpg connection, whether a transaction is open)``, none begun."""
        if self._adapted._transaction is not None:
            return self._adapted._connection, True
        if self.sync_connection.invalidated:   # lost under a SQLAlchemy statement
            raise exc.PendingRollbackError("The connection was invalidated: its transaction is lost.")
        return self._adapted._connection, False

    async def commit_transaction(self) -> None:
        """COMMIT what was begun (nothing when no statement ran); a later statement begins anew."""
        adapted = self._adapted
        transaction, adapted._transaction = adapted._transaction, None
        if transaction is not None:
            try:
                await transaction.commit()
            except BaseException as failure:
                self._broken = _unknown_state(adapted._connection, failure)
                raise

    async def release(self) -> None:
        """ROLLBACK what was not committed, then back to the pool; invalidated (closed, and
        replaced at a later checkout) when its state is unknown (``_unknown_state``)."""
        adapted = self._adapted
        transaction, adapted._transaction = adapted._transaction, None
        try:
            if adapted._connection.is_closed():   # lost (in this unit or before): nothing to roll back
                self._broken = True
            elif transaction is not None and not self._broken and not self.sync_connection.invalidated:
                try:
                    await transaction.rollback()
                except BaseException as failure:
                    self._broken = _unknown_state(adapted._connection, failure)
                    raise
        finally:
            try:
                if self._broken and not self.sync_connection.invalidated:
                    await self.invalidate()
            finally:
                await self.close()


def _unknown_state(driver, failure: BaseException) -> bool:
    """Whether a connection whose COMMIT or ROLLBACK failed must not go back to the pool: unless
    PostgreSQL answered with an error (a deferred constraint, ...) and left it idle, outside any
    transaction, its state is unknown (connection lost, statement cancelled midway)."""
    return not isinstance(failure, asyncpg.PostgresError) or driver.is_closed() or driver.is_in_transaction()


async def driver_connection(conn: AsyncConnection):
    """The asyncpg connection under ``conn``, in ``conn``'s transaction: a hot statement runs on
    it directly (asyncpg prepares each text once per connection and keeps it), without
    SQLAlchemy's compile, parameter and result layers, and commits or rolls back with ``conn``.

    SQLAlchemy begins lazily: its transaction object at ``begin()`` or a first statement, the
    driver's BEGIN with the first statement. Both are done here when not yet, so a raw statement
    that comes first is in the transaction that ``conn`` then commits or rolls back. Errors are
    asyncpg's own (``asyncpg.UniqueViolationError``, ...), not SQLAlchemy's wrappers. A unit's
    own connection (``UnitConnection``) has no SQLAlchemy transaction object to begin."""
    if type(conn) is UnitConnection:
        return await conn.driver()
    sync = conn.sync_connection
    if sync.get_transaction() is None:
        sync.begin()   # no I/O: the DBAPI has no BEGIN of its own
    pooled = await conn.get_raw_connection() if sync.invalidated else sync.connection
    adapted = pooled.dbapi_connection
    if adapted._transaction is None and not adapted.autocommit:
        await adapted._start_transaction()   # what SQLAlchemy's first statement would do
    return pooled.driver_connection


async def driver_outside(conn: AsyncConnection):
    """``(driver connection, in a transaction)`` for a statement that need not begin one. On a
    unit's own connection (``UnitConnection``) with no transaction open, none is begun: the
    statement is a transaction of its own, which PostgreSQL commits as it ends (a lock it takes is
    not held after it, a write it makes is kept at once), and False comes back. Otherwise, as
    ``driver_connection``: in ``conn``'s transaction, and True."""
    if type(conn) is UnitConnection:
        return conn.outside()
    return await driver_connection(conn), True


_ASYNCPG = _asyncpg_dialect.dialect()


@lru_cache(maxsize=512)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQL text with ``:name`` parameters as asyncpg's (``$1, $2, ...``), and the names in their
    order (a name used twice is one parameter)."""
    compiled = text(sql).compile(dialect=_ASYNCPG)
    return compiled.string, tuple(compiled.positiontup)


async def execute(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> None:
    """``sql`` (``:name`` parameters, from ``params``) on the driver's connection, in ``conn``'s
    transaction (``driver_connection``)."""
    statement, names = positional(sql)
    await (await driver_connection(conn)).execute(statement, *[params[n] for n in names])


def json_text(value) -> str:
    """JSON text for a jsonb value (or a text[] cast to jsonb) through orjson: compact, not
    ASCII-escaped, as ``json.dumps(ensure_ascii=False, separators=(",", ":"))``; what orjson
    refuses (an integer past 64 bits, a key that is not a string) goes through json."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=256)
def _array_columns(table, columns: tuple[str, ...], prefix: str) -> tuple[tuple[str, str, bool], ...]:
    return tuple((name, f"{prefix}{name}", _is_json(table.c[name])) for name in columns)


MAX_BIND_PARAMETERS = 32_000  # PostgreSQL's protocol allows 32 767 per statement


def table_name(conn, table) -> str:
    """The table's qualified name on this connection, honouring a ``schema_translate_map`` (the
    rebuild writes the same tables in another schema)."""
    sync = getattr(conn, "sync_connection", None) or conn  # an AsyncConnection keeps its options there
    mapping = sync.get_execution_options().get("schema_translate_map") or {}
    schema = mapping.get(table.schema, table.schema)
    return f"{schema}.{table.name}" if schema else table.name


def _is_json(column) -> bool:
    return isinstance(column.type, (JSON, JSONB))


_DIALECT = postgresql.dialect()


def unnest(table, columns: tuple[str, ...], prefix: str = "c_") -> tuple[str, str]:
    """``(select_list, from_item)`` reading one array parameter per column (``:c_<name>``, or
    another ``prefix``): a batch of any size is one short statement, prepared once, instead of a
    bind per value. JSON columns travel as text and are cast back."""
    arrays, select_list = [], []
    for name in columns:
        column = table.c[name]
        sql_type = column.type.compile(dialect=_DIALECT)
        if _is_json(column):
            arrays.append(f"CAST(:{prefix}{name} AS text[])")
            select_list.append(f"u.{name}::{sql_type}")
        else:
            arrays.append(f"CAST(:{prefix}{name} AS {sql_type}[])")
            select_list.append(f"u.{name}")
    return ", ".join(select_list), f"unnest({', '.join(arrays)}) AS u({', '.join(columns)})"


def array_parameters(table, columns, rows: list[dict], prefix: str = "c_") -> dict[str, list]:
    """One array parameter per column (``:<prefix><name>``) of these rows; JSON columns as text
    (``json_text``), cast back by ``unnest``'s statement."""
    out = {}
    for name, key, is_json in _array_columns(table, tuple(columns), prefix):
        values = [r[name] for r in rows]
        out[key] = [None if v is None else json_text(v) for v in values] if is_json else values
    return out


async def insert_many(conn, table, rows: list[dict], *, on_conflict_do_nothing: bool = False,
                      upsert_on: tuple[str, ...] = ()) -> None:
    """INSERT of any number of rows in one statement (``INSERT ... SELECT FROM unnest(arrays)``).
    ``upsert_on``: the conflict columns; the other columns are then updated from the new row."""
    if not rows:
        return
    columns = tuple(rows[0])
    statement = _insert_statement(table, table_name(conn, table), columns, on_conflict_do_nothing, upsert_on)
    await conn.execute(statement, array_parameters(table, columns, rows))


@lru_cache(maxsize=256)
def _insert_statement(table, name: str, columns: tuple[str, ...], do_nothing: bool, upsert_on: tuple[str, ...]):
    """Built once per table, schema and column set (compiling types is not free per request)."""
    return text(insert_sql(table, name, columns, do_nothing=do_nothing, upsert_on=upsert_on))


def insert_sql(table, name: str, columns: tuple[str, ...], *, do_nothing: bool = False,
               upsert_on: tuple[str, ...] = (), prefix: str = "c_", where: str | None = None) -> str:
    """``insert_many``'s statement, as SQL text (to be a part of a larger statement); ``where``:
    a condition the rows are inserted on."""
    select_list, source = unnest(table, columns, prefix)
    sql = f"INSERT INTO {name} ({', '.join(columns)}) SELECT {select_list} FROM {source}"
    if where is not None:
        sql += f" WHERE {where}"
    if upsert_on:
        updated = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in upsert_on)
        sql += f" ON CONFLICT ({', '.join(upsert_on)}) DO UPDATE SET {updated}"
    elif do_nothing:
        sql += " ON CONFLICT DO NOTHING"
    return sql


async def delete_many(conn, table, keys: list[dict]) -> None:
    """DELETE of the rows matching any of ``keys`` (dicts of the same columns) in one statement:
    ``DELETE ... USING unnest(arrays)``, whatever their number (no row constructor per key)."""
    if not keys:
        return
    columns = tuple(keys[0])
    await conn.execute(_delete_statement(table, table_name(conn, table), columns),
                       array_parameters(table, columns, keys))


@lru_cache(maxsize=256)
def _delete_statement(table, name: str, columns: tuple[str, ...]):
    return text(delete_sql(table, name, columns))


def delete_sql(table, name: str, columns: tuple[str, ...], prefix: str = "c_", where: str | None = None) -> str:
    """``delete_many``'s statement, as SQL text; ``where``: a further condition."""
    _, source = unnest(table, columns, prefix)
    matches = " AND ".join([f"t.{c} = u.{c}" for c in columns] + ([where] if where is not None else []))
    return f"DELETE FROM {name} t USING {source} WHERE {matches}"
