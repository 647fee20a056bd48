"""Idempotency-Key: a retried POST with the same key and body returns the first response and
writes nothing; the same key with another body is refused (422).

The key is claimed by inserting its row in the same transaction as the command's writes, so 50
concurrent identical requests write once: the others wait on the row, then replay the response.
A command that fails rolls back, releasing the key for a retry."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Awaitable, Callable

from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api.problems import Problem
from shared.db import driver_connection, json_text, table_name


@dataclass
class Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


@lru_cache
def idempotency_table(schema: str) -> Table:
    return Table("idempotency_keys", MetaData(schema=schema),
                 Column("key_id", Text, primary_key=True),
                 Column("idempotency_key", Text, primary_key=True),
                 Column("request_hash", Text, nullable=False),
                 Column("status", Integer, nullable=False),
                 Column("body", Text),  # the response exactly as first sent
                 Column("headers", JSONB),
                 Column("created_at", DateTime(timezone=True), server_default=func.now()))


def create_idempotency_table_sql(schema: str) -> str:
    return f"""CREATE TABLE {schema}.idempotency_keys (key_id text, idempotency_key text,
        request_hash text NOT NULL, status integer NOT NULL, body jsonb, headers jsonb,
        created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (key_id, idempotency_key))"""


def _serialize(body: Any) -> str:
    # the same bytes as starlette's JSONResponse renders
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def respond(outcome: Outcome) -> Response:
    """The HTTP response of an outcome: a replay carries the first response's exact bytes."""
    headers = dict(outcome.headers)
    media_type = headers.pop("Content-Type", "application/json")
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = outcome.body if isinstance(outcome.body, str) else _serialize(outcome.body)
    return Response(body, status_code=outcome.status, headers=headers, media_type=media_type)


def fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class _Statements:
    claim: str
    stored: str
    record: str


@lru_cache
def _statements(name: str) -> _Statements:
    """Built once per table: run on the driver's connection (prepared once per connection)."""
    where = "key_id = $1 AND idempotency_key = $2"
    return _Statements(
        claim=f"INSERT INTO {name} (key_id, idempotency_key, request_hash, status) VALUES ($1, $2, $3, 0) "
              "ON CONFLICT DO NOTHING RETURNING key_id",
        stored=f"SELECT request_hash, status, body, headers FROM {name} WHERE {where}",
        record=f"UPDATE {name} SET status = $3, body = $4, headers = $5::jsonb WHERE {where}")


async def once(conn: AsyncConnection, schema: str, key_id: str, idem_key: str | None, request_hash: str,
               action: Callable[[], Awaitable[Outcome]]) -> Outcome:
    if idem_key is None:
        return await action()
    if not 1 <= len(idem_key) <= 200:
        raise Problem(422, "invalid-idempotency-key", "Invalid Idempotency-Key", "Use 1 to 200 characters.")
    sql = _statements(table_name(conn, idempotency_table(schema)))
    apg = await driver_connection(conn)   # in the command's transaction
    if await apg.fetchval(sql.claim, key_id, idem_key, request_hash) is None:
        row = await apg.fetchrow(sql.stored, key_id, idem_key)
        if row["request_hash"] != request_hash:
            raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                          "This Idempotency-Key was used with another request body.")
        return Outcome(row["status"], row["body"], dict(row["headers"] or {}), replayed=True)
    outcome = await action()
    await apg.execute(sql.record, key_id, idem_key, outcome.status, _serialize(outcome.body),
                      json_text(outcome.headers))
    return outcome


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]


async def answer_once(uow: Any, principal: Any, idempotency_key: str | None, request_hash: str,
                      action: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """The command's outcome, the key claimed in the command's own unit of work (its
    ``idempotency`` port); a retry with the same key and body replays the first outcome."""
    async with uow:
        outcome = await uow.idempotency.once(principal.key_id, idempotency_key, request_hash, action)
        await uow.commit()
    return outcome


async def run_once(request: Request, uow: Any, principal: Any, idempotency_key: str | None, payload: BaseModel,
                   action: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """``answer_once`` for a route: the request's method, path and parsed body are its fingerprint
    (computed only when the request has a key: nothing compares it otherwise)."""
    digest = "" if idempotency_key is None else fingerprint(request.method, request.url.path,
                                                            payload.model_dump(mode="json"))
    return await answer_once(uow, principal, idempotency_key, digest, action)
