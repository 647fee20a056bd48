"""Who may act on or see a contract: the role a command needs, and the one tenancy rule
(shared/tenancy.py) applied to a contract's state; another tenant's contract is not found."""
from __future__ import annotations

from services.contracts.domain.state import ContractState
from kernel.errors import Forbidden
from shared.auth import Principal
from shared.tenancy import can_see


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"This action needs a {' or '.join(roles)} key; this key's role is {principal.role}.",
                        code="forbidden-role")


def visible(principal: Principal, state: ContractState) -> bool:
    cfa = state.terms["cfa"]
    return can_see(principal, cfa["uai"], cfa.get("siret"), state.opco)
