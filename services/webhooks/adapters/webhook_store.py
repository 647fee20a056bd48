"""The webhooks ports over PostgreSQL (SQLAlchemy Core): endpoints and signing keys, messages and
the parties they concern, deliveries and attempts. Each call is one statement (or one per table),
batched over its rows; the due deliveries are the heads of their (endpoint, key) queues, picked
by one query that caps each endpoint's share."""
from __future__ import annotations

from datetime import datetime
from typing import Collection

from sqlalchemy import and_, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.access import Principal, matched_by
from services.webhooks.adapters.tables import attempts, deliveries, endpoints, messages, parties, signing_keys
from services.webhooks.application.unit_of_work import Attempt, Delivery, DueDelivery, Health, Message
from services.webhooks.domain.audience import Parties
from services.webhooks.domain.endpoints import Endpoint

E, K, P, M, D, A = endpoints.c, signing_keys.c, parties.c, messages.c, deliveries.c, attempts.c


def _endpoint(r) -> Endpoint:
    return Endpoint(str(r.endpoint_id), r.owner_role, r.owner_org, r.url, r.description, tuple(r.event_types),
                    r.status, r.created_at, r.updated_at, r.failing_since, r.version)


def _row(e: Endpoint) -> dict:
    return {"endpoint_id": e.endpoint_id, "owner_role": e.owner_role, "owner_org": e.owner_org, "url": e.url,
            "description": e.description, "event_types": list(e.event_types), "status": e.status,
            "failing_since": e.failing_since, "created_at": e.created_at, "updated_at": e.updated_at,
            "version": e.version}


class SqlEndpoints:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, endpoint: Endpoint, key: bytes) -> None:
        await self.conn.execute(endpoints.insert().values(**_row(endpoint)))
        await self.conn.execute(signing_keys.insert().values(endpoint_id=endpoint.endpoint_id,
                                                             created_at=endpoint.created_at, key=key))

    async def get(self, endpoint_id: str) -> Endpoint | None:
        row = (await self.conn.execute(select(endpoints).where(E.endpoint_id == endpoint_id))).first()
        return _endpoint(row) if row else None

    async def owned_by(self, role: str | None, org: str | None) -> list[Endpoint]:
        q = select(endpoints).order_by(E.created_at, E.endpoint_id)
        if role is not None:
            q = q.where(E.owner_role == role, E.owner_org == org)
        return [_endpoint(r) for r in await self.conn.execute(q)]

    async def count_owned(self, role: str, org: str) -> int:
        return await self.conn.scalar(select(func.count()).where(E.owner_role == role, E.owner_org == org))

    async def save(self, endpoint: Endpoint) -> None:
        values = _row(endpoint)
        await self.conn.execute(update(endpoints).where(E.endpoint_id == endpoint.endpoint_id).values(**values))

    async def delete(self, endpoint_id: str) -> None:
        await self.conn.execute(delete(endpoints).where(E.endpoint_id == endpoint_id))

    async def rotate(self, endpoint_id: str, key: bytes, now: datetime, old_expires_at: datetime) -> None:
        await self.conn.execute(update(signing_keys).where(K.endpoint_id == endpoint_id, K.expires_at.is_(None))
                                .values(expires_at=old_expires_at))
        await self.conn.execute(signing_keys.insert().values(endpoint_id=endpoint_id, created_at=now, key=key))

    async def all_live(self) -> list[Endpoint]:
        return [_endpoint(r) for r in await self.conn.execute(select(endpoints))]

    async def health(self, endpoint_ids: Collection[str], now: datetime) -> dict[str, Health]:
        ids = list(endpoint_ids)
        out = {i: Health(0, None, None, None) for i in ids}
        if not ids:
            return out
        rows = await self.conn.execute(text(
            "SELECT endpoint_id::text AS endpoint_id, pending, oldest_pending_at, last_attempt_at, last_outcome "
            "FROM webhooks.endpoint_health WHERE endpoint_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids})
        for r in rows:
            out[r.endpoint_id] = Health(r.pending or 0, r.oldest_pending_at, r.last_attempt_at, r.last_outcome)
        return out


class SqlMessages:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def parties(self, keys: Collection[str]) -> dict[str, Parties]:
        if not keys:
            return {}
        rows = await self.conn.execute(select(parties).where(P.key.in_(list(keys))))
        return {r.key: Parties(r.cfa_uai, r.cfa_siret, r.opco) for r in rows}

    async def save_parties(self, changed: dict[str, Parties]) -> None:
        stmt = insert(parties).values([{"key": k, "cfa_uai": p.cfa_uai, "cfa_siret": p.cfa_siret, "opco": p.opco}
                                       for k, p in changed.items()])
        await self.conn.execute(stmt.on_conflict_do_update(index_elements=[P.key], set_={
            "cfa_uai": stmt.excluded.cfa_uai, "cfa_siret": stmt.excluded.cfa_siret, "opco": stmt.excluded.opco}))

    async def add(self, batch: list[Message]) -> dict[str, int]:
        if not batch:
            return {}
        rows = [{"message_id": m.message_id, "type": m.type, "ordering_key": m.ordering_key,
                 "occurred_at": m.occurred_at, "cfa_uai": m.parties.cfa_uai, "cfa_siret": m.parties.cfa_siret,
                 "opco": m.parties.opco, "body": m.body} for m in batch]
        # executemany: SQLAlchemy batches the rows into multi-row INSERTs (insertmanyvalues), in order
        stmt = (insert(messages).on_conflict_do_nothing(index_elements=[M.message_id])
                .returning(M.message_id, M.position, sort_by_parameter_order=True))
        return {r.message_id: r.position for r in await self.conn.execute(stmt, rows)}

    async def position_at(self, when: datetime) -> int:
        first = await self.conn.scalar(select(func.min(M.position)).where(M.occurred_at >= when))
        if first is not None:
            return first
        return (await self.conn.scalar(select(func.max(M.position))) or 0) + 1


def _visible(owner: Principal):
    """The tenancy rule (kernel/access.py) as SQL over a message's parties."""
    fields = matched_by(owner)
    if fields is None:
        return text("true")
    return or_(*[M[f] == owner.org for f in fields]) if fields else text("false")


_ADD_DELIVERIES = text("""
    INSERT INTO webhooks.deliveries (endpoint_id, position, ordering_key, status, next_attempt_at, created_at)
    SELECT e, p, k, 'pending', :now, :now
    FROM unnest(CAST(:e AS uuid[]), CAST(:p AS bigint[]), CAST(:k AS text[])) AS d(e, p, k)
    ON CONFLICT DO NOTHING RETURNING delivery_id""")


class SqlDeliveries:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add(self, rows: list[tuple[str, int, str]], now: datetime) -> int:
        # one statement whatever the fan-out (arrays, not one bound parameter per value)
        endpoint_ids, positions, keys = (list(column) for column in zip(*rows))
        result = await self.conn.execute(_ADD_DELIVERIES, {"e": endpoint_ids, "p": positions, "k": keys, "now": now})
        return len(result.all())

    async def next_replay_id(self) -> int:
        return await self.conn.scalar(text("SELECT nextval('webhooks.replays')"))

    async def replay(self, endpoint: Endpoint, owner: Principal, types: Collection[str] | None, from_position: int,
                     limit: int, replay_id: int, now: datetime) -> tuple[int, int | None]:
        chosen = (select(M.position, M.ordering_key).where(M.position >= from_position, _visible(owner))
                  .order_by(M.position).limit(limit))
        if types is not None:
            chosen = chosen.where(M.type.in_(list(types)))
        picked = chosen.subquery()
        stmt = insert(deliveries).from_select(
            ["endpoint_id", "position", "ordering_key", "replay_id", "status", "next_attempt_at", "created_at"],
            select(text(":endpoint_id"), picked.c.position, picked.c.ordering_key, text(":replay_id"),
                   text("'pending'"), text(":now"), text(":now"))).returning(deliveries.c.position)
        rows = (await self.conn.execute(stmt, {"endpoint_id": endpoint.endpoint_id, "replay_id": replay_id,
                                               "now": now})).scalars().all()
        return len(rows), (max(rows) if rows else None)

    async def page(self, endpoint_id: str, status: str | None, before: int | None, limit: int) -> list[Delivery]:
        q = (select(D.delivery_id, D.endpoint_id, M.message_id, D.position, M.type, D.ordering_key, D.replay_id,
                    D.status, D.attempts, D.next_attempt_at, D.first_failed_at, D.created_at, D.delivered_at)
             .join(messages, M.position == D.position).where(D.endpoint_id == endpoint_id)
             .order_by(D.delivery_id.desc()).limit(limit))
        if status:
            q = q.where(D.status == status)
        if before is not None:
            q = q.where(D.delivery_id < before)
        rows = (await self.conn.execute(q)).all()
        history: dict[int, list[Attempt]] = {}
        if rows:
            for a in await self.conn.execute(select(attempts).where(A.delivery_id.in_([r.delivery_id for r in rows]))
                                             .order_by(A.delivery_id, A.attempt)):
                history.setdefault(a.delivery_id, []).append(
                    Attempt(a.attempt, a.attempted_at, a.outcome, a.status_code, a.latency_ms, a.error, a.next_attempt_at))
        return [Delivery(r.delivery_id, str(r.endpoint_id), r.message_id, r.position, r.type, r.ordering_key,
                         r.replay_id, r.status, r.attempts, r.next_attempt_at if r.status == "pending" else None,
                         r.first_failed_at, r.created_at, r.delivered_at, tuple(history.get(r.delivery_id, ())))
                for r in rows]

    async def retry_now(self, endpoint_id: str, now: datetime) -> None:
        await self.conn.execute(update(deliveries).where(D.endpoint_id == endpoint_id, D.status == "pending")
                                .values(next_attempt_at=now, first_failed_at=None))

    async def due(self, now: datetime, per_endpoint: int, limit: int) -> list[DueDelivery]:
        rows = await self.conn.execute(text("""
            WITH heads AS (
                SELECT DISTINCT ON (d.endpoint_id, d.ordering_key)
                       d.delivery_id, d.endpoint_id, d.ordering_key, d.position, d.attempts, d.first_failed_at,
                       d.next_attempt_at
                FROM webhooks.deliveries d JOIN webhooks.endpoints e USING (endpoint_id)
                WHERE d.status = 'pending' AND e.status = 'active'
                ORDER BY d.endpoint_id, d.ordering_key, d.position, d.delivery_id),
            ranked AS (
                SELECT h.*, row_number() OVER (PARTITION BY h.endpoint_id ORDER BY h.next_attempt_at, h.position) AS n
                FROM heads h WHERE h.next_attempt_at <= :now)
            SELECT r.delivery_id, r.endpoint_id::text AS endpoint_id, r.ordering_key, r.attempts, r.first_failed_at,
                   e.url, m.message_id, m.body,
                   ARRAY(SELECT k.key FROM webhooks.signing_keys k
                         WHERE k.endpoint_id = r.endpoint_id AND (k.expires_at IS NULL OR k.expires_at > :now)
                         ORDER BY k.key_id DESC) AS keys
            FROM ranked r JOIN webhooks.endpoints e USING (endpoint_id) JOIN webhooks.messages m USING (position)
            WHERE r.n <= :per_endpoint
            ORDER BY r.next_attempt_at LIMIT :limit"""), {"now": now, "per_endpoint": per_endpoint, "limit": limit})
        return [DueDelivery(r.delivery_id, r.endpoint_id, r.ordering_key, r.url, r.message_id, bytes(r.body),
                            r.attempts, r.first_failed_at, tuple(bytes(k) for k in r.keys)) for r in rows]

    async def record(self, delivery_id: int, attempt: Attempt, *, delivered: bool,
                     first_failed_at: datetime | None) -> None:
        await self.conn.execute(attempts.insert().values(
            delivery_id=delivery_id, attempt=attempt.attempt, attempted_at=attempt.attempted_at,
            outcome=attempt.outcome, status_code=attempt.status_code, latency_ms=attempt.latency_ms,
            error=attempt.error, next_attempt_at=attempt.next_attempt_at))
        values = {"attempts": attempt.attempt, "next_attempt_at": attempt.next_attempt_at,
                  "first_failed_at": first_failed_at}
        if delivered:
            values |= {"status": "delivered", "delivered_at": attempt.attempted_at}
        await self.conn.execute(update(deliveries).where(D.delivery_id == delivery_id).values(**values))

    async def mark_failing(self, endpoint_id: str, now: datetime) -> None:
        await self.conn.execute(update(endpoints).where(E.endpoint_id == endpoint_id, E.status == "active")
                                .values(status="failing", failing_since=now, updated_at=now, version=E.version + 1))

    async def oldest_pending(self, now: datetime) -> dict[str, float]:
        rows = await self.conn.execute(text("SELECT endpoint_id::text AS endpoint_id, oldest_pending_at "
                                            "FROM webhooks.endpoint_health WHERE pending > 0"))
        return {r.endpoint_id: max((now - r.oldest_pending_at).total_seconds(), 0.0) for r in rows}
