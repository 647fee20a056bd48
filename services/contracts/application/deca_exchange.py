"""The DECA exchange (docs/deca.md): reconcile an extract of DECA with the contracts a key may see,
and export our deposited contracts in DECA's shape. For an ops key (every contract) or an OPCO
key (the contracts it funds, kernel/access.py); a CFA key is refused (403 ``forbidden-role``)
before the extract is read. Our contracts are read in one statement per call."""
from __future__ import annotations

from typing import Any

from kernel.access import Principal, require_role
from services.contracts.application.unit_of_work import ContractsUnitOfWork, ContractView
from services.contracts.domain.deca import Reconciliation, deca_page, parse_extract, reconcile, start_dates
from services.contracts.domain.state import ContractState

ROLES = ("ops", "opco")
MAX_PAGE_SIZE = 500


def state_of(view: ContractView) -> ContractState:
    return ContractState.from_dict(view.state)


async def reconcile_deca(uow: ContractsUnitOfWork, principal: Principal, body: bytes, *,
                         csv_format: bool | None = None, complete: bool | None = None,
                         opco: str | None = None) -> Reconciliation:
    """Every disagreement between the extract (JSON or CSV bytes) and the key's contracts.
    ``complete`` overrides what the extract's metadonnees say (not_in_deca is checked only on an
    extract read as complete); ``opco`` narrows our side to one OPCO's contracts."""
    require_role(principal, *ROLES)
    extract = parse_extract(body, csv_format)
    async with uow:
        views = await uow.views.deca_candidates(principal, start_dates(extract), opco)
    return reconcile(extract, [state_of(v) for v in views], complete)


async def export_deca(uow: ContractsUnitOfWork, principal: Principal, page: int, size: int) -> dict[str, Any]:
    """One page (from 1) of the deposited contracts the key may see, as DECA publishes them."""
    require_role(principal, *ROLES)
    async with uow:
        views, total = await uow.views.deposited(principal, (page - 1) * size, size)
    return deca_page([state_of(v) for v in views], page, size, total)
