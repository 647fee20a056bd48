"""The unit of work the financing handlers take: what they read and write, as ports (the SQL one
is adapters/sql_unit_of_work.py, the in-memory one tests/unit/financing/fakes.py).

``async with uow:`` opens the unit; ``await uow.commit()`` keeps its writes (leaving without
committing drops them). A unit opened inside another one (the projection's batch in the
consumer's transaction, a claim inside the idempotent POST) joins it: the outer one commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Collection, Protocol

from services.financing.domain.npec import Referential


@dataclass(frozen=True)
class PathEvent:
    """A contract event as the projection keeps it (the inputs of every computation)."""
    event_id: str
    apprentice_id: str
    contract_id: str
    sequence: int
    type: str
    data: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class ContractSummary:
    contract_id: str
    apprentice_id: str
    cfa_uai: str
    cfa_siret: str | None
    opco: str | None
    regime: str
    signed_on: date
    start_date: date
    planned_end_date: date
    planned_months: int
    status: str
    version: int


@dataclass(frozen=True)
class FundingYear:
    """A funding year as the projection computed it (a domain ``Line`` and its NPEC's source)."""
    contract_id: str
    funding_year: int
    apprentice_id: str
    opco: str | None
    cfa_uai: str | None
    period_start: date
    period_end: date
    units: int
    unit: str
    amount: Decimal | None
    regime: str
    status: str
    employer_contribution: Decimal | None
    npec_source: str | None     # None: stored before the projection kept it


@dataclass(frozen=True)
class StoredAdvance:
    contract_id: str
    funding_year: int
    advance: int
    apprentice_id: str
    opco: str | None
    cfa_uai: str | None
    cfa_siret: str | None
    amount: Decimal
    due_on: date
    latest_on: date | None
    employer_contribution: Decimal | None = None


@dataclass(frozen=True)
class DueTotal:
    """What an OPCO owes one CFA for the advances due in one month (``YYYY-MM``)."""
    month: str
    cfa_uai: str | None
    cfa_siret: str | None
    amount: Decimal


@dataclass(frozen=True)
class FeeRecord:
    claim_id: str
    apprentice_id: str
    contract_id: str
    opco: str | None
    cfa_uai: str | None
    kind: str
    day: date
    quantity: int
    amount: Decimal
    funding_year: int | None
    advance: int | None


class StreamChanged(Exception):
    """Another writer appended to the stream since it was read."""


class AlreadyBilled(Exception):
    """A unique index refused a row: a line on another active invoice (``what`` = "line"), or a
    payment's bank reference recorded already ("payment")."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(what)


@dataclass(frozen=True)
class LedgerEvent:
    """A money event of the financing store (invoice-, payment-, regularisation- streams)."""
    event_id: str
    stream_id: str
    type: str
    data: dict[str, Any]
    recorded_at: datetime
    position: int


class ProjectionWrites(Protocol):
    """What a batch of contract events writes (a few multi-row statements, whatever its size)."""
    async def add_events(self, events: list[PathEvent]) -> None: ...           # stored ones skipped
    async def save_signed(self, summaries: list[ContractSummary]) -> None: ...
    async def set_statuses(self, statuses: dict[str, tuple[str, int]]) -> None: ...  # where newer
    async def replace_funding(self, apprentice_ids: Collection[str], years: list[FundingYear],
                              advances: list[StoredAdvance]) -> None: ...


class FundingReads(Protocol):
    async def apprentice_of(self, contract_id: str) -> str | None: ...
    async def path_events(self, apprentice_ids: Collection[str],
                          recorded_until: datetime | None = None) -> dict[str, list[dict]]: ...
    async def apprentices_signed_with(self, opco: str, recorded_until: datetime) -> list[str]: ...
    async def apprentices_certified_in(self, rncps: Collection[str]) -> list[str]: ...
    async def funding_years(self, contract_id: str) -> list[FundingYear]: ...
    async def advances_of(self, contract_id: str) -> list[StoredAdvance]: ...
    async def due_totals(self, opco: str, start: date, end: date) -> list[DueTotal]: ...
    async def fees_of(self, contract_id: str, recorded_until: datetime | None = None) -> list[FeeRecord]: ...


class ReferentialStore(Protocol):
    async def load(self, rncps: Collection[str] | None = None) -> Referential: ...
    async def add(self, npec: list[dict], links: list[dict]) -> None: ...   # rows with their file_date
    async def size(self) -> int: ...


class FeeClaims(Protocol):
    async def claimed(self, apprentice_id: str) -> list[tuple[str, date]]: ...
    async def add(self, claim: FeeRecord) -> bool: ...        # False: the same one is there already
    async def record(self, apprentice_id: str, event_type: str, data: dict, actor: str) -> None: ...
    # record raises StreamChanged when another claim was recorded meanwhile


class Billing(Protocol):
    """The money loop's port (adapters/billing_store.py; docs/billing.md)."""
    async def next_number(self, cfa_uai: str, year: int) -> int: ...   # gap-free, held until commit
    async def append(self, appends: list[tuple[str, int, list[tuple[str, dict]]]], ledger: str,
                     actor: str) -> list[LedgerEvent]: ...                  # raises StreamChanged
    async def stream(self, stream_id: str, recorded_until: datetime | None = None) -> list[LedgerEvent]: ...
    async def streams(self, stream_ids: Collection[str]) -> dict[str, list[LedgerEvent]]: ...
    async def ledger_events(self, ledgers: Collection[str],
                            recorded_until: datetime | None = None) -> list[LedgerEvent]: ...
    async def ledgers(self, cfa: str | None, opco: str | None) -> list[tuple[str, str]]: ...
    async def advances_at(self, keys: Collection[tuple]) -> dict[tuple, Any]: ...
    async def advances_of(self, ledgers: Collection[tuple[str, str]]) -> list[Any]: ...
    async def overshot(self, accounts: Collection[tuple[str, str]] | None) -> list[tuple[tuple, str, str]]: ...
    async def fees_on(self, keys: Collection[tuple]) -> list[FeeRecord]: ...
    async def changes_since(self, contract_ids: Collection[str], since: datetime) -> list[dict]: ...
    async def save(self, invoices: list = (), payments: list = (), regularisations: list = ()) -> None: ...
    async def set_numbers(self, last: dict[tuple[str, int], int]) -> None: ...
    async def payment_with_reference(self, opco: str, bank_reference: str) -> str | None: ...
    async def invoice_documents(self, *, cfa: str | None, opco: str | None, status: str | None,
                                cfa_uai: str | None, issued_from: date | None, issued_to: date | None,
                                after_seq: int, limit: int) -> list[tuple[int, dict]]: ...


class FinancingUnitOfWork(Protocol):
    projection: ProjectionWrites
    reads: FundingReads
    referential: ReferentialStore
    fee_claims: FeeClaims
    billing: Billing

    async def __aenter__(self) -> FinancingUnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
