"""Who may do and see what: the role a handler needs, and the one tenancy rule
(shared/tenancy.py) applied to a contract's facts."""
from __future__ import annotations

from contract_events.facts import ContractFacts
from kernel.errors import Forbidden
from shared.auth import Principal
from shared.tenancy import can_see


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"This action needs a {' or '.join(roles)} key; this key's role is {principal.role}.",
                        code="forbidden-role")


def sees(principal: Principal, contract: ContractFacts) -> bool:
    return can_see(principal, contract.cfa_uai or "", contract.cfa_siret, contract.opco)
