"""Who may act on or see a contract: the role a command needs, and the one tenancy rule
(kernel/access.py) applied to a contract's state; another tenant's contract is not found."""
from __future__ import annotations

from services.contracts.domain.state import ContractState
from kernel.access import Principal, can_see


def visible(principal: Principal, state: ContractState) -> bool:
    cfa = state.terms["cfa"]
    return can_see(principal, cfa["uai"], cfa.get("siret"), state.opco)
