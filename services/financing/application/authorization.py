"""Who may do and see what: the role a handler needs, and the one tenancy rule
(kernel/access.py) applied to a contract's facts."""
from __future__ import annotations

from contract_events.facts import ContractFacts
from kernel.access import Principal, can_see


def sees(principal: Principal, contract: ContractFacts) -> bool:
    return can_see(principal, contract.cfa_uai or "", contract.cfa_siret, contract.opco)
