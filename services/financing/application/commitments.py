"""What an OPCO owes, per month of due date and per CFA: the stored advances, or with ``as_of``
the advances recomputed from the events recorded up to then. Each line is shown to the keys the
tenancy rule (kernel/access.py) lets see its contract's CFA, by UAI or SIRET."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from kernel.errors import NotFound, Refused
from services.financing.application.funding_paths import compute_paths, instant
from services.financing.application.unit_of_work import DueTotal, FinancingUnitOfWork
from kernel.access import Principal
from kernel.access import can_see


async def commitments(uow: FinancingUnitOfWork, principal: Principal, opco: str, start: date, end: date,
                      as_of: datetime | None) -> dict:
    """What ``opco`` owes, per month of due date and per CFA (the lines the key may see)."""
    if principal.role == "opco" and principal.org != opco:
        raise NotFound("OPCO")
    if end < start:
        raise Refused("invalid-period", "Invalid period", "'to' is before 'from'.")
    as_of = instant(as_of)
    async with uow:
        due = await uow.reads.due_totals(opco, start, end) if as_of is None else \
            await _due_then(uow, opco, start, end, as_of)
    sums: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for d in due:
        if can_see(principal, d.cfa_uai or "", d.cfa_siret, opco):
            sums[(d.month, d.cfa_uai)] += d.amount
    by_month: dict[str, dict[str, str]] = defaultdict(dict)
    for (month, cfa), amount in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        by_month[month][cfa or "unknown"] = f"{amount:.2f}"
    return {"opco": opco, "from": start.isoformat(), "to": end.isoformat(),
            "as_of": as_of.isoformat() if as_of else None,
            "months": [{"month": m, "by_cfa": v, "total": f"{sum(Decimal(x) for x in v.values()):.2f}"}
                       for m, v in by_month.items()], "total": f"{sum(sums.values(), Decimal(0)):.2f}"}


async def _due_then(uow: FinancingUnitOfWork, opco: str, start: date, end: date, as_of: datetime) -> list[DueTotal]:
    """The advances due as the events recorded up to ``as_of`` made them."""
    ids = await uow.reads.apprentices_signed_with(opco, as_of)
    if not ids:
        return []
    result = await compute_paths(uow, ids, as_of.date(), as_of)
    out = []
    for adv in result.schedule:
        due = date.fromisoformat(adv["due_on"])
        if adv["opco"] == opco and start <= due <= end:
            siret = result.contracts[adv["contract_id"]].cfa_siret
            out.append(DueTotal(due.strftime("%Y-%m"), adv["cfa_uai"], siret, Decimal(adv["amount"])))
    return out
