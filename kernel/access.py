"""Who calls and what they may see (docs/api.md, "Keys, roles and tenancy"): the caller as a key's
role and organisation, the role an action needs, and the one tenancy rule.

The rule is one table, ``MATCHED_BY``: the contract fields one of which must equal the key's
organisation (``None``: every contract; a role not in it sees none). ``can_see`` applies it to
one contract; the contracts listing turns it into SQL (services/contracts/adapters/contract_listing.py).
Pure: the keys themselves (hashing, storage, the HTTP bearer) are shared/auth.py."""
from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import Forbidden

ROLES = ("cfa", "opco", "ops")


@dataclass(frozen=True)
class Principal:
    """The caller: its key, its role (cfa, opco, ops) and its organisation (the CFA's UAI or
    SIRET, the OPCO's code, the ops team's name)."""
    key_id: str
    role: str
    org: str


def require_role(principal: Principal, *roles: str) -> None:
    """Refuses (403 ``forbidden-role``) a key whose role is not one of ``roles``."""
    if principal.role not in roles:
        raise Forbidden(f"This action needs a {' or '.join(roles)} key; this key's role is {principal.role}.",
                        code="forbidden-role")


MATCHED_BY: dict[str, tuple[str, ...] | None] = {"ops": None, "cfa": ("cfa_uai", "cfa_siret"), "opco": ("opco",)}


def matched_by(principal: Principal) -> tuple[str, ...] | None:
    return MATCHED_BY.get(principal.role, ())


def can_see(principal: Principal, cfa_uai: str, cfa_siret: str | None, opco: str | None) -> bool:
    """A CFA sees its own contracts (by UAI or SIRET), an OPCO those it funds, ops all."""
    fields = matched_by(principal)
    if fields is None:
        return True
    contract = {"cfa_uai": cfa_uai, "cfa_siret": cfa_siret, "opco": opco}
    return any(contract[name] is not None and contract[name] == principal.org for name in fields)
