"""Who may use the quality service: CFA keys only, each on its own records (docs/quality.md)."""
from __future__ import annotations

from kernel.access import Principal, require_role


def cfa_of(principal: Principal) -> str:
    """The CFA a key acts for (its organisation); any other role is refused."""
    require_role(principal, "cfa")
    return principal.org
