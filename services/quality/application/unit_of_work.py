"""The unit of work the quality handlers take: what they read and write, as ports (the SQL one is
adapters/sql_unit_of_work.py, the in-memory one tests/unit/quality/fakes.py). See docs/quality.md.

``async with uow:`` opens the unit; ``await uow.commit()`` keeps its writes (leaving without
committing drops them). A unit opened inside another one (the projection's batch in the
consumer's transaction, a command inside the idempotent POST) joins it: the outer one commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from kernel.access import Principal


@dataclass(frozen=True)
class QualityRecord:
    """A record (appraisal, complaint, ...) as stored: ``data`` and ``history`` come back with the
    store's key order (jsonb), which the API's answers keep."""
    record_id: str
    cfa: str
    kind: str
    status: str
    occurred_on: date
    data: dict[str, Any]
    history: list[dict[str, Any]]
    version: int


@dataclass(frozen=True)
class StreamEvent:
    """One event to append to a stream of the quality store, at the version the caller read."""
    stream: str
    expected_version: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Absence:
    erp_record_id: str
    apprentice_id: str
    group: str | None
    day: date
    hours: Decimal          # numeric(5, 2)
    justified: bool


@dataclass(frozen=True)
class ContractEvent:
    """A contract event as the quality projection keeps it; ``cfa`` is the UAI of a signature."""
    event_id: str
    contract_id: str
    cfa: str | None
    type: str
    data: dict[str, Any]
    recorded_at: datetime


class StreamChanged(Exception):
    """Another writer appended to the stream since it was read."""


class QualityRecords(Protocol):
    """The records table: one row per record, its status, history and version."""
    async def get(self, cfa: str, kind: str, record_id: str, *, lock: bool = False) -> QualityRecord | None: ...
    async def page(self, cfa: str, kind: str, status: str | None, start: date | None, end: date | None,
                   after: tuple[date, str] | None, limit: int) -> list[QualityRecord]: ...  # by date, id
    async def of_cfa(self, cfa: str, start: date | None, end: date | None) -> list[QualityRecord]: ...
    async def add(self, record: QualityRecord) -> QualityRecord: ...                   # as stored
    async def update(self, record_id: str, status: str, history: list[dict], version: int) -> QualityRecord: ...


class QualityEvents(Protocol):
    async def append(self, cfa: str, actor: str, events: list[StreamEvent]) -> None: ...
    # one statement for every stream; raises StreamChanged when one moved


class Absences(Protocol):
    async def add_new(self, cfa: str, absences: list[Absence]) -> list[str]: ...  # the new ERP ids; known ones kept
    async def listed(self, cfa: str, apprentice_id: str | None, start: date | None, end: date | None,
                     limit: int) -> list[Absence]: ...                            # by day, ERP id
    async def of_cfa(self, cfa: str, start: date | None, end: date | None) -> list[Absence]: ...


class ContractEvents(Protocol):
    async def add(self, events: list[ContractEvent]) -> None: ...                # known event ids skipped
    async def of_cfa(self, cfa: str) -> list[dict[str, Any]]: ...
    # every event of the contracts the CFA signed, in arrival order, as {type, subject, data}


class DashboardSessions(Protocol):
    """The dashboard's login sessions (stored hashed) over the API keys."""
    async def key_principal(self, raw_key: str) -> Principal | None: ...      # unknown or revoked: None
    async def open(self, session_hash: str, key_id: str, expires_at: datetime) -> None: ...
    async def principal(self, session_hash: str, now: datetime) -> Principal | None: ...  # live, key not revoked
    async def close(self, session_hash: str) -> None: ...


@dataclass(frozen=True)
class EndpointHealth:
    """One of the CFA's webhook endpoints as the webhooks service reports it (docs/webhooks.md)."""
    url: str
    description: str
    status: str                       # active, paused, failing
    pending: int
    oldest_pending_at: datetime | None
    last_attempt_at: datetime | None
    last_outcome: str | None


class WebhookHealth(Protocol):
    async def of_cfa(self, cfa: str) -> list[EndpointHealth]: ...


class QualityUnitOfWork(Protocol):
    records: QualityRecords
    events: QualityEvents
    absences: Absences
    contract_events: ContractEvents
    sessions: DashboardSessions
    webhooks: WebhookHealth

    async def __aenter__(self) -> QualityUnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
