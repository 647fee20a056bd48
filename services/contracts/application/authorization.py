"""Who may act on or see a contract: the role a command needs, and the one tenancy rule
(kernel/access.py) applied to a contract's state; another tenant's contract is not found."""
from __future__ import annotations

from services.contracts.domain.state import ContractState
from kernel.access import Principal, can_see


def visible(principal: Principal, state: ContractState) -> bool:
    return can_see(principal, state.cfa_uai, state.cfa_siret, state.opco)
