"""The unit of work the webhooks handlers take: endpoints and their secrets, the messages kept
for delivery and replay, the deliveries and their attempts, the stored answers of idempotent
POSTs (the SQL one is adapters/sql_unit_of_work.py, the in-memory one
tests/unit/webhooks/fakes.py). ``async with uow:`` opens it, ``await uow.commit()`` keeps its
writes; a unit entered inside another (the fan-out inside the consumer's batch) joins it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Collection, Protocol

from kernel.access import Principal
from services.webhooks.domain.audience import Parties
from services.webhooks.domain.endpoints import Endpoint


@dataclass(frozen=True)
class Message:
    """An event as it is pushed: its CloudEvent body (the topic's bytes, no more), the key its
    order is kept by, the parties who may see it."""
    message_id: str
    type: str
    ordering_key: str
    occurred_at: datetime
    parties: Parties
    body: bytes


@dataclass(frozen=True)
class Attempt:
    attempt: int
    attempted_at: datetime
    outcome: str                      # delivered, http_error, timeout, network_error, refused_address
    status_code: int | None
    latency_ms: int | None
    error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    endpoint_id: str
    message_id: str
    position: int
    type: str
    ordering_key: str
    replay_id: int
    status: str                       # pending, delivered
    attempts: int
    next_attempt_at: datetime | None
    first_failed_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    history: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class Health:
    """What an endpoint's owner watches: deliveries waiting, the oldest of them, the last attempt."""
    pending: int
    oldest_pending_at: datetime | None
    last_attempt_at: datetime | None
    last_outcome: str | None


@dataclass(frozen=True)
class DueDelivery:
    """What one attempt needs: where, what, signed with which keys, and the retry state."""
    delivery_id: int
    endpoint_id: str
    ordering_key: str
    url: str
    message_id: str
    body: bytes
    attempts: int
    first_failed_at: datetime | None
    keys: tuple[bytes, ...]


class Endpoints(Protocol):
    async def add(self, endpoint: Endpoint, key: bytes) -> None: ...
    async def get(self, endpoint_id: str) -> Endpoint | None: ...
    async def owned_by(self, role: str | None, org: str | None) -> list[Endpoint]: ...
    async def count_owned(self, role: str, org: str) -> int: ...
    async def save(self, endpoint: Endpoint) -> None: ...
    async def delete(self, endpoint_id: str) -> None: ...
    async def rotate(self, endpoint_id: str, key: bytes, now: datetime, old_expires_at: datetime) -> None: ...
    async def all_live(self) -> list[Endpoint]: ...
    async def health(self, endpoint_ids: Collection[str], now: datetime) -> dict[str, Health]: ...


class Messages(Protocol):
    async def parties(self, keys: Collection[str]) -> dict[str, Parties]: ...
    async def save_parties(self, parties: dict[str, Parties]) -> None: ...
    async def add(self, messages: list[Message]) -> dict[str, int]:
        """Stores the messages not stored yet; their positions by message id."""
    async def position_at(self, when: datetime) -> int:
        """The position of the first message at or after ``when`` (past the last one: last + 1)."""


class Deliveries(Protocol):
    async def add(self, rows: list[tuple[str, int, str]], now: datetime) -> int:
        """(endpoint, position, ordering key) to deliver now; returns how many were new."""
    async def replay(self, endpoint: Endpoint, owner: Principal, types: Collection[str] | None, from_position: int,
                     limit: int, replay_id: int, now: datetime) -> tuple[int, int | None]:
        """Deliveries again of what the owner may see from ``from_position`` (at most ``limit``
        messages): how many, and the last position covered (None: none)."""
    async def next_replay_id(self) -> int: ...
    async def page(self, endpoint_id: str, status: str | None, before: int | None, limit: int) -> list[Delivery]: ...
    async def retry_now(self, endpoint_id: str, now: datetime) -> None:
        """A resumed endpoint: its waiting deliveries are due now, with a new retry window."""
    async def due(self, now: datetime, per_endpoint: int, limit: int) -> list[DueDelivery]: ...
    async def record(self, delivery_id: int, attempt: Attempt, *, delivered: bool,
                     first_failed_at: datetime | None) -> None: ...
    async def mark_failing(self, endpoint_id: str, now: datetime) -> None: ...
    async def oldest_pending(self, now: datetime) -> dict[str, float]: ...


class WebhooksUnitOfWork(Protocol):
    endpoints: Endpoints
    messages: Messages
    deliveries: Deliveries
    idempotency: Any

    async def __aenter__(self) -> "WebhooksUnitOfWork": ...
    async def __aexit__(self, *exc: Any) -> None: ...
    async def commit(self) -> None: ...
