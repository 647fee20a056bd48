"""What a key may read: one contract from the read model, its stream, and the listing, each under
the tenancy rule (kernel/access.py); another tenant's contract is not found."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.contracts.application.unit_of_work import ContractsUnitOfWork, ContractView, ListFilters
from kernel.errors import NotFound
from kernel.access import Principal
from shared.eventstore.model import RecordedEvent
from kernel.access import can_see, require_role


@dataclass(frozen=True)
class Page:
    items: list[ContractView]
    more: bool      # another page follows the last item


async def _visible_view(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractView:
    view = await uow.views.get(contract_id)
    if view is None or not can_see(principal, view.cfa_uai, view.cfa_siret, view.opco):
        raise NotFound("contract")
    return view


async def get_contract(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractView:
    async with uow:
        return await _visible_view(uow, principal, contract_id)


async def contract_stream(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> list[RecordedEvent]:
    async with uow:
        await _visible_view(uow, principal, contract_id)
        return await uow.contracts.events(contract_id)


async def list_contracts(uow: ContractsUnitOfWork, principal: Principal, filters: ListFilters,
                         after: tuple[date, str] | None, limit: int) -> Page:
    """Up to ``limit`` contracts the key may see, by signature date then id, after ``after``."""
    async with uow:
        rows = await uow.views.page(principal, filters, after, limit + 1)
    return Page(rows[:limit], len(rows) > limit)


async def get_cerfa(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractView:
    """The contract with its whole CERFA, personal data included: for the CFA that owns it and
    the OPCO that funds it only (an ops key is refused: the audit export, with its explicit flag,
    is the ops way to personal data)."""
    require_role(principal, "cfa", "opco")
    return await get_contract(uow, principal, contract_id)
