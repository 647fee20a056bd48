"""In-memory stand-ins for the webhooks unit of work's ports (services/webhooks/application/
unit_of_work.py), with the behaviour of the SQL ones (adapters/webhook_store.py and the schema of
migrations/versions/0001_webhooks.py): messages kept once by ``message_id`` at increasing
positions; deliveries unique per (endpoint, position, replay_id); the due deliveries are the head
(lowest position, then delivery id) of each (endpoint, ordering key) queue among the pending
deliveries of *active* endpoints, those whose ``next_attempt_at`` has come, at most
``per_endpoint`` per endpoint; a replay picks what the owner may see by the tenancy rule
(kernel/access.py, through audience.may_receive); deleting an endpoint drops its keys, its
deliveries and their attempts (ON DELETE CASCADE).

A unit left without committing restores what it found, a unit entered inside another joins it
(tests/unit/fake_transaction.py). The identity columns and the ``webhooks.replays`` sequence are
kept outside the tables, as PostgreSQL's sequences are: a rollback does not give numbers back."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Collection

from kernel.access import Principal
from services.webhooks.application.unit_of_work import Attempt, Delivery, DueDelivery, Health, Message
from services.webhooks.domain.audience import Parties, may_receive
from services.webhooks.domain.endpoints import Endpoint
from shared.api.idempotency import Outcome
from tests.unit.fake_transaction import FakeIdempotency, FakeTransaction


class IntegrityError(Exception):
    """What PostgreSQL would refuse: a unique or foreign key constraint broken."""


@dataclass
class SigningKey:
    key_id: int
    endpoint_id: str
    created_at: datetime
    key: bytes
    expires_at: datetime | None = None


@dataclass
class Tables:
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    keys: list[SigningKey] = field(default_factory=list)
    parties: dict[str, Parties] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)          # position -> message
    deliveries: dict[int, Delivery] = field(default_factory=dict)       # delivery_id -> row (history empty)
    attempts: dict[int, list[Attempt]] = field(default_factory=dict)    # delivery_id -> attempts in order
    answers: dict[tuple[str, str], tuple[str, Outcome]] = field(default_factory=dict)


class Sequences:
    """The identity columns (messages.position, deliveries.delivery_id, signing_keys.key_id) and
    webhooks.replays: each call gives the next number, whatever becomes of the transaction."""

    def __init__(self):
        self.last: dict[str, int] = {}

    def next(self, name: str) -> int:
        self.last[name] = self.last.get(name, 0) + 1
        return self.last[name]


class FakeEndpoints:
    def __init__(self, t: Tables, seq: Sequences):
        self.t, self.seq = t, seq

    async def add(self, endpoint: Endpoint, key: bytes) -> None:
        if endpoint.endpoint_id in self.t.endpoints:
            raise IntegrityError(f"endpoints_pkey: {endpoint.endpoint_id}")
        self.t.endpoints[endpoint.endpoint_id] = endpoint
        self.t.keys.append(SigningKey(self.seq.next("key"), endpoint.endpoint_id, endpoint.created_at, key))

    async def get(self, endpoint_id: str) -> Endpoint | None:
        return self.t.endpoints.get(endpoint_id)

    async def owned_by(self, role: str | None, org: str | None) -> list[Endpoint]:
        found = [e for e in self.t.endpoints.values() if role is None or (e.owner_role, e.owner_org) == (role, org)]
        return sorted(found, key=lambda e: (e.created_at, e.endpoint_id))

    async def count_owned(self, role: str, org: str) -> int:
        return sum(1 for e in self.t.endpoints.values() if (e.owner_role, e.owner_org) == (role, org))

    async def save(self, endpoint: Endpoint) -> None:
        if endpoint.endpoint_id in self.t.endpoints:   # an UPDATE: nothing when the row is gone
            self.t.endpoints[endpoint.endpoint_id] = endpoint

    async def delete(self, endpoint_id: str) -> None:
        if self.t.endpoints.pop(endpoint_id, None) is None:
            return
        self.t.keys = [k for k in self.t.keys if k.endpoint_id != endpoint_id]   # ON DELETE CASCADE
        gone = [i for i, d in self.t.deliveries.items() if d.endpoint_id == endpoint_id]
        for i in gone:
            del self.t.deliveries[i]
            self.t.attempts.pop(i, None)

    async def rotate(self, endpoint_id: str, key: bytes, now: datetime, old_expires_at: datetime) -> None:
        for k in self.t.keys:
            if k.endpoint_id == endpoint_id and k.expires_at is None:
                k.expires_at = old_expires_at
        if endpoint_id not in self.t.endpoints:
            raise IntegrityError(f"signing_keys_endpoint_id_fkey: {endpoint_id}")
        self.t.keys.append(SigningKey(self.seq.next("key"), endpoint_id, now, key))

    async def all_live(self) -> list[Endpoint]:
        return list(self.t.endpoints.values())

    async def health(self, endpoint_ids: Collection[str], now: datetime) -> dict[str, Health]:
        out = {}
        for endpoint_id in endpoint_ids:
            mine = sorted((d for d in self.t.deliveries.values() if d.endpoint_id == endpoint_id),
                          key=lambda d: d.delivery_id, reverse=True)
            pending = [d for d in mine if d.status == "pending"]
            oldest = min((self.t.messages[d.position].occurred_at for d in pending), default=None)
            last = next((self.t.attempts[d.delivery_id][-1] for d in mine if self.t.attempts.get(d.delivery_id)),
                        None)
            out[endpoint_id] = Health(len(pending), oldest, last.attempted_at if last else None,
                                      last.outcome if last else None)
        return out


class FakeMessages:
    def __init__(self, t: Tables, seq: Sequences):
        self.t, self.seq = t, seq

    async def parties(self, keys: Collection[str]) -> dict[str, Parties]:
        return {k: self.t.parties[k] for k in keys if k in self.t.parties}

    async def save_parties(self, parties: dict[str, Parties]) -> None:
        self.t.parties.update(parties)

    async def add(self, messages: list[Message]) -> dict[str, int]:
        """INSERT ... ON CONFLICT (message_id) DO NOTHING RETURNING: positions of the new ones only."""
        kept = {m.message_id for m in self.t.messages.values()}
        added: dict[str, int] = {}
        for m in messages:
            if m.message_id in kept:
                continue
            position = self.seq.next("position")
            self.t.messages[position] = m
            kept.add(m.message_id)
            added[m.message_id] = position
        return added

    async def position_at(self, when: datetime) -> int:
        at_or_after = [p for p, m in self.t.messages.items() if m.occurred_at >= when]
        if at_or_after:
            return min(at_or_after)
        return max(self.t.messages, default=0) + 1


class FakeDeliveries:
    def __init__(self, t: Tables, seq: Sequences):
        self.t, self.seq = t, seq

    def _insert(self, endpoint_id: str, position: int, ordering_key: str, replay_id: int, now: datetime) -> bool:
        """One row, with the table's constraints; False when (endpoint, position, replay_id) is taken."""
        if endpoint_id not in self.t.endpoints:
            raise IntegrityError(f"deliveries_endpoint_id_fkey: {endpoint_id}")
        if position not in self.t.messages:
            raise IntegrityError(f"deliveries_position_fkey: {position}")
        if any((d.endpoint_id, d.position, d.replay_id) == (endpoint_id, position, replay_id)
               for d in self.t.deliveries.values()):
            return False
        m = self.t.messages[position]
        delivery_id = self.seq.next("delivery")
        self.t.deliveries[delivery_id] = Delivery(delivery_id, endpoint_id, m.message_id, position, m.type,
                                                  ordering_key, replay_id, "pending", 0, now, None, now, None)
        return True

    async def add(self, rows: list[tuple[str, int, str]], now: datetime) -> int:
        """ON CONFLICT DO NOTHING: how many were new."""
        return sum(self._insert(e, p, k, 0, now) for e, p, k in rows)

    async def replay(self, endpoint: Endpoint, owner: Principal, types: Collection[str] | None, from_position: int,
                     limit: int, replay_id: int, now: datetime) -> tuple[int, int | None]:
        chosen = [p for p in sorted(self.t.messages) if p >= from_position
                  and may_receive(owner, self.t.messages[p].parties)
                  and (types is None or self.t.messages[p].type in types)][:limit]
        for p in chosen:   # no ON CONFLICT: a replay id taken twice is an error, as in SQL
            if not self._insert(endpoint.endpoint_id, p, self.t.messages[p].ordering_key, replay_id, now):
                raise IntegrityError(f"deliveries unique (endpoint, position, replay_id): {p}, {replay_id}")
        return len(chosen), (max(chosen) if chosen else None)

    async def next_replay_id(self) -> int:
        return self.seq.next("replay")

    async def page(self, endpoint_id: str, status: str | None, before: int | None, limit: int) -> list[Delivery]:
        rows = sorted((d for d in self.t.deliveries.values() if d.endpoint_id == endpoint_id
                       and (not status or d.status == status) and (before is None or d.delivery_id < before)),
                      key=lambda d: d.delivery_id, reverse=True)[:limit]
        return [replace(d, next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
                        history=tuple(self.t.attempts.get(d.delivery_id, ()))) for d in rows]

    async def retry_now(self, endpoint_id: str, now: datetime) -> None:
        for i, d in self.t.deliveries.items():
            if d.endpoint_id == endpoint_id and d.status == "pending":
                self.t.deliveries[i] = replace(d, next_attempt_at=now, first_failed_at=None)

    async def due(self, now: datetime, per_endpoint: int, limit: int) -> list[DueDelivery]:
        heads: dict[tuple[str, str], Delivery] = {}
        for d in self.t.deliveries.values():
            e = self.t.endpoints.get(d.endpoint_id)
            if d.status != "pending" or e is None or e.status != "active":
                continue
            k = (d.endpoint_id, d.ordering_key)
            if k not in heads or (d.position, d.delivery_id) < (heads[k].position, heads[k].delivery_id):
                heads[k] = d
        ready = sorted((h for h in heads.values() if h.next_attempt_at is not None and h.next_attempt_at <= now),
                       key=lambda h: (h.next_attempt_at, h.position, h.delivery_id))
        taken: dict[str, int] = {}
        picked = []
        for h in ready:   # row_number() over (endpoint ORDER BY next_attempt_at, position) <= per_endpoint
            taken[h.endpoint_id] = taken.get(h.endpoint_id, 0) + 1
            if taken[h.endpoint_id] <= per_endpoint:
                picked.append(h)
        out = []
        for h in picked[:limit]:
            keys = sorted((k for k in self.t.keys if k.endpoint_id == h.endpoint_id
                           and (k.expires_at is None or k.expires_at > now)), key=lambda k: k.key_id, reverse=True)
            out.append(DueDelivery(h.delivery_id, h.endpoint_id, h.ordering_key, self.t.endpoints[h.endpoint_id].url,
                                   h.message_id, self.t.messages[h.position].body, h.attempts, h.first_failed_at,
                                   tuple(k.key for k in keys)))
        return out

    async def record(self, delivery_id: int, attempt: Attempt, *, delivered: bool,
                     first_failed_at: datetime | None) -> None:
        if delivery_id not in self.t.deliveries:
            raise IntegrityError(f"attempts_delivery_id_fkey: {delivery_id}")
        history = self.t.attempts.setdefault(delivery_id, [])
        if any(a.attempt == attempt.attempt for a in history):
            raise IntegrityError(f"attempts_pkey: ({delivery_id}, {attempt.attempt})")
        history.append(attempt)
        history.sort(key=lambda a: a.attempt)
        d = replace(self.t.deliveries[delivery_id], attempts=attempt.attempt, next_attempt_at=attempt.next_attempt_at,
                    first_failed_at=first_failed_at)
        if delivered:
            d = replace(d, status="delivered", delivered_at=attempt.attempted_at)
        self.t.deliveries[delivery_id] = d

    async def mark_failing(self, endpoint_id: str, now: datetime) -> None:
        e = self.t.endpoints.get(endpoint_id)
        if e is not None and e.status == "active":
            self.t.endpoints[endpoint_id] = replace(e, status="failing", failing_since=now, updated_at=now,
                                                    version=e.version + 1)

    async def oldest_pending(self, now: datetime) -> dict[str, float]:
        oldest: dict[str, datetime] = {}
        for d in self.t.deliveries.values():
            if d.status == "pending":
                at = self.t.messages[d.position].occurred_at
                oldest[d.endpoint_id] = min(at, oldest.get(d.endpoint_id, at))
        return {e: max((now - at).total_seconds(), 0.0) for e, at in oldest.items()}


class FakeUnitOfWork(FakeTransaction):
    def __init__(self, tables: Tables | None = None):
        super().__init__(tables or Tables())
        self.sequences = Sequences()
        self.endpoints = FakeEndpoints(self.tables, self.sequences)
        self.messages = FakeMessages(self.tables, self.sequences)
        self.deliveries = FakeDeliveries(self.tables, self.sequences)
        self.idempotency = FakeIdempotency(self.tables)
