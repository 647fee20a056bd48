"""Who may see which contract: a CFA its own (UAI or SIRET), an OPCO those it funds, ops all."""
from __future__ import annotations

from shared.auth import Principal


def can_see(principal: Principal, cfa_uai: str, cfa_siret: str | None, opco: str | None) -> bool:
    if principal.role == "ops":
        return True
    if principal.role == "cfa":
        return principal.org in (cfa_uai, cfa_siret)
    if principal.role == "opco":
        return opco is not None and principal.org == opco
    return False
