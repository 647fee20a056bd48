"""Who may see which contract: a CFA its own (UAI or SIRET), an OPCO those it funds, ops all.

The rule is one table, ``MATCHED_BY``: the contract fields one of which must equal the key's
organisation (``None``: every contract; a role not in it sees none). ``can_see`` applies it to one
contract; the contracts listing turns it into SQL (services/contracts/adapters/contract_listing.py)."""
from __future__ import annotations

from shared.auth import Principal

MATCHED_BY: dict[str, tuple[str, ...] | None] = {"ops": None, "cfa": ("cfa_uai", "cfa_siret"), "opco": ("opco",)}


def matched_by(principal: Principal) -> tuple[str, ...] | None:
    return MATCHED_BY.get(principal.role, ())


def can_see(principal: Principal, cfa_uai: str, cfa_siret: str | None, opco: str | None) -> bool:
    fields = matched_by(principal)
    if fields is None:
        return True
    contract = {"cfa_uai": cfa_uai, "cfa_siret": cfa_siret, "opco": opco}
    return any(contract[name] is not None and contract[name] == principal.org for name in fields)
