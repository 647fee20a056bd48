"""The unit of work the contracts handlers take: what they read and write, as ports (the SQL one is
adapters/sql_unit_of_work.py, the in-memory one tests/unit/contracts/fakes.py).

``async with uow:`` opens the unit; ``await uow.commit()`` keeps its writes (leaving without
committing drops them). A unit entered inside another one (a command inside the idempotent POST,
a signature inside a transaction someone else owns) joins it: the outer one commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Awaitable, Callable, Protocol

from services.contracts.domain.state import ContractState, Event
from kernel.access import Principal
from shared.eventstore.model import RecordedEvent

Change = tuple[ContractState, list[Event]]   # a loaded state and the events to append to it


class StreamChanged(Exception):
    """Another writer appended to a stream since it was loaded: nothing was written."""


class LiveChanged(Exception):
    """Live contracts read without holding them (``hold=False``) changed before the unit's
    ``record``: nothing was written; read them again, holding them."""


@dataclass(frozen=True)
class ContractView:
    """A contract in the read model (``contracts.contracts``): refreshed with every append."""
    contract_id: str
    apprentice_id: str
    cfa_uai: str
    cfa_siret: str | None
    opco: str | None
    status: str
    version: int
    signed_on: date
    start_date: date
    planned_end_date: date
    state: dict[str, Any]

    @classmethod
    def of(cls, state: ContractState) -> ContractView:
        return cls(state.contract_id, state.apprentice_id, state.cfa_uai, state.cfa_siret, state.opco,
                   state.status, state.version, date.fromisoformat(state.signed_on),
                   date.fromisoformat(state.start_date), date.fromisoformat(state.planned_end_date), state.as_dict())


@dataclass(frozen=True)
class ListFilters:
    """The listing's filters (None: any). ``cfa`` matches the UAI or the SIRET; dates inclusive."""
    status: str | None = None
    opco: str | None = None
    cfa: str | None = None
    signed_from: date | None = None
    signed_to: date | None = None


class ContractStreams(Protocol):
    async def load(self, contract_id: str) -> ContractState | None: ...
    async def record(self, changes: list[Change], actor: str, *, last: bool = False) -> None: ...
    # record appends each state's events at its loaded version, all or nothing (StreamChanged when
    # one moved; LiveChanged when live contracts this unit read with hold=False changed since), applies
    # them to the states and refreshes their views and deadlines. last: nothing but the commit
    # follows in this unit (the SQL unit may then write at once when it has no transaction open)
    async def save(self, state: ContractState) -> None: ...        # its view and deadlines only
    async def events(self, contract_id: str) -> list[RecordedEvent]: ...


class ContractViews(Protocol):
    async def get(self, contract_id: str) -> ContractView | None: ...
    async def page(self, principal: Principal, filters: ListFilters, after: tuple[date, str] | None,
                   limit: int) -> list[ContractView]: ...
    # page: the contracts the principal may see (kernel/access.py), by (signed_on, contract_id),
    # strictly after ``after``, at most ``limit``
    async def live_for_apprentice(self, apprentice_id: str, *, hold: bool = True) -> list[ContractView]: ...
    # live_for_apprentice: the apprentice's contracts whose status is not in rules.NOT_LIVE_STATUSES,
    # by (start_date, contract_id); the apprentice stays held until the unit ends, so another unit
    # asking for the same apprentice waits, then sees what this one committed (two signatures
    # for one apprentice never pass together). hold=False: a unit that has not begun writing may
    # read them without holding them; its record then writes only if they are still as read
    # (LiveChanged otherwise)
    async def live_for_masters(self, master_ids: list[str], *, hold: bool = True) -> dict[str, list[dict[str, Any]]]: ...
    # live_for_masters: master id -> the folded states (ContractState.as_dict()) of the live
    # contracts naming the master; the masters stay held until the unit ends, like the apprentice
    # (hold=False: as for the apprentice)
    async def deca_candidates(self, principal: Principal, start_dates: list[date],
                              opco: str | None) -> list[ContractView]: ...
    # deca_candidates: in one statement, the contracts the principal may see (of ``opco`` when
    # given) that were deposited (a deposit number) or start on one of ``start_dates``, by id
    async def deposited(self, principal: Principal, offset: int, limit: int) -> tuple[list[ContractView], int]: ...
    # deposited: a page of the deposited contracts the principal may see, by (deposit number, id),
    # and how many there are in all


class Secrets(Protocol):
    async def pseudonym_key(self) -> bytes: ...


class Deadlines(Protocol):
    async def due(self, today: date, limit: int) -> list[tuple[str, str]]: ...
    # due: (contract_id, kind) of deadlines past their last day, oldest first, read without holding them


class Idempotency(Protocol):
    async def once(self, key_id: str, idempotency_key: str | None, request_hash: str,
                   action: Callable[[], Awaitable[Any]]) -> Any: ...
    # once: the action's outcome, claimed in the unit's transaction; the same key again replays the
    # first outcome without running the action (used by the API around a command)


class ContractsUnitOfWork(Protocol):
    contracts: ContractStreams
    views: ContractViews
    deadlines: Deadlines
    idempotency: Idempotency
    secrets: Secrets

    async def __aenter__(self) -> ContractsUnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
