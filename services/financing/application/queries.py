"""Follow the money: a contract's funding, an apprentice's OPCO handover, an OPCO's commitments.
With ``as_of``, computed from the events recorded up to then (time travel); without, from all."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.tables import advances, contract_events, contracts
from services.financing.application.fees import fees_of
from contract_events.catalogue import status_after
from services.financing.application.projection import apprentice_of, compute_paths
from contract_events.facts import ContractFacts
from shared.auth import Principal
from kernel.months import months_started
from shared.tenancy import can_see


def _visible(principal: Principal, f: ContractFacts) -> bool:
    return can_see(principal, f.cfa_uai or "", f.cfa_siret, f.opco)


def _status(f: ContractFacts) -> str:
    return status_after(f.events)


async def contract_funding(conn: AsyncConnection, principal: Principal, contract_id: str, today: date,
                           as_of: datetime | None) -> dict | None:
    apprentice = await apprentice_of(conn, contract_id)
    if apprentice is None:
        return None
    result = await compute_paths(conn, [apprentice], as_of.date() if as_of else today, as_of)
    f = result.contracts.get(contract_id)
    if f is None or not _visible(principal, f):
        return None
    own_lines = [l for l in result.lines if l.contract_id == contract_id]
    claims = await fees_of(conn, contract_id, as_of)
    schedule = [dict(a, fees=[c["claim_id"] for c in claims if c["invoice"] == {
        "funding_year": a["funding_year"], "advance": a["advance"]}]) for a in result.schedule
        if a["contract_id"] == contract_id]
    total = sum((l.amount for l in own_lines if l.amount is not None), Decimal(0))
    return {
        "contract_id": contract_id, "apprentice_id": f.apprentice_id, "cfa_uai": f.cfa_uai, "opco": f.opco,
        "regime": own_lines[0].regime if own_lines else None, "status": _status(f),
        "signed_on": f.signed_on.isoformat(), "start_date": f.start_date.isoformat(),
        "planned_end_date": f.planned_end_date.isoformat(),
        "planned_funded_months": months_started(f.start_date, f.planned_end_date),
        "npec_source": result.npec_sources.get(contract_id),
        "spans": [s.as_dict() for s in result.spans if s.contract_id == contract_id],
        "funding_years": [l.as_dict() for l in own_lines], "total": f"{total:.2f}",
        "schedule": schedule, "fees": claims, "as_of": as_of.isoformat() if as_of else None,
    }


async def handover(conn: AsyncConnection, principal: Principal, apprentice_id: str, today: date,
                   as_of: datetime | None) -> list[dict] | None:
    result = await compute_paths(conn, [apprentice_id], as_of.date() if as_of else today, as_of)
    if not result.contracts or not any(_visible(principal, f) for f in result.contracts.values()):
        return None
    return result.handover().get(apprentice_id, [])


async def commitments(conn: AsyncConnection, principal: Principal, opco: str, start: date, end: date,
                      today: date, as_of: datetime | None) -> dict:
    """What ``opco`` owes, per month of due date and per CFA (a CFA key sees its own lines)."""
    cfa_filter = principal.org if principal.role == "cfa" else None
    if as_of is None:
        a = advances.c
        month = func.to_char(a.due_on, "YYYY-MM")
        q = (select(month.label("month"), a.cfa_uai, func.sum(a.amount).label("amount"))
             .where(a.opco == opco, a.due_on >= start, a.due_on <= end).group_by(month, a.cfa_uai))
        if cfa_filter:
            q = q.where(a.cfa_uai == cfa_filter)
        rows = [(r.month, r.cfa_uai, r.amount) for r in await conn.execute(q)]
    else:
        apprentices = select(contract_events.c.apprentice_id).where(
            and_(contract_events.c.type == "contract.signed", contract_events.c.recorded_at <= as_of,
                 contract_events.c.data["opco"].astext == opco)).distinct()
        ids = [r[0] for r in await conn.execute(apprentices)]
        result = await compute_paths(conn, ids, as_of.date(), as_of) if ids else None
        sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for adv in (result.schedule if result else []):
            due = date.fromisoformat(adv["due_on"])
            if adv["opco"] == opco and start <= due <= end and (not cfa_filter or adv["cfa_uai"] == cfa_filter):
                sums[(due.strftime("%Y-%m"), adv["cfa_uai"])] += Decimal(adv["amount"])
        rows = [(m, c, v) for (m, c), v in sums.items()]
    by_month: dict[str, dict[str, str]] = defaultdict(dict)
    total = Decimal(0)
    for month_key, cfa, amount in sorted(rows, key=lambda r: (r[0], r[1] or "")):
        by_month[month_key][cfa or "unknown"] = f"{Decimal(amount):.2f}"
        total += Decimal(amount)
    return {"opco": opco, "from": start.isoformat(), "to": end.isoformat(),
            "as_of": as_of.isoformat() if as_of else None,
            "months": [{"month": m, "by_cfa": v, "total": f"{sum(Decimal(x) for x in v.values()):.2f}"}
                       for m, v in by_month.items()], "total": f"{total:.2f}"}


async def contract_visible(conn: AsyncConnection, principal: Principal, contract_id: str) -> bool:
    row = (await conn.execute(select(contracts.c.cfa_uai, contracts.c.cfa_siret, contracts.c.opco)
                              .where(contracts.c.contract_id == contract_id))).first()
    return row is not None and can_see(principal, row.cfa_uai, row.cfa_siret, row.opco)
