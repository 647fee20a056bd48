"""Who may use the quality service: CFA keys only, each on its own records (docs/quality.md)."""
from __future__ import annotations

from kernel.errors import Forbidden
from shared.auth import Principal


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"This action needs a {' or '.join(roles)} key; this key's role is {principal.role}.",
                        code="forbidden-role")


def cfa_of(principal: Principal) -> str:
    """The CFA a key acts for (its organisation); any other role is refused."""
    require_role(principal, "cfa")
    return principal.org
