"""The financing projection of contract events (consumer group ``financing.contracts``).

Each batch stores the contract events it received (the inputs of time travel), refreshes the
contract summaries, then recomputes the funding of every apprentice path the batch touched,
with a few multi-row statements per batch (no per-event round trips)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import ARRAY, Text, any_, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contract_events.catalogue import STATUS_AFTER
from services.financing.adapters.referential import load_referential
from services.financing.adapters.tables import advances, contract_events, contracts, lines, spans
from services.financing.domain.engine import compute
from services.financing.domain.policy import regime_of
from shared.db import delete_many, insert_many, table_name
from kernel.months import months_started

def signed_row(data: dict[str, Any], version: int) -> dict[str, Any]:
    start, end = date.fromisoformat(data["start_date"]), date.fromisoformat(data["planned_end_date"])
    signed_on = date.fromisoformat(data["signed_on"])
    return dict(contract_id=data["contract_id"], apprentice_id=data["apprentice"]["id"],
                cfa_uai=data["cfa"]["uai"], cfa_siret=data["cfa"].get("siret"), opco=data.get("opco"),
                regime=regime_of(signed_on), signed_on=signed_on, start_date=start, planned_end_date=end,
                planned_months=months_started(start, end), status="signed", version=version)


def _recorded_at(ce: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ce["time"]) if ce.get("time") else datetime.now(timezone.utc)


def _apprentice(ce: dict[str, Any]) -> str:
    key = ce.get("partitionkey") or (ce.get("data", {}).get("apprentice") or {}).get("id")
    if not key:
        raise ValueError("the event names no apprentice (partitionkey)")
    return key


class FinancingProjection:
    name = "financing.contracts"

    def __init__(self, clock):
        self.clock = clock

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        raw, touched = [], set()
        for ce in events:
            if not ce["type"].startswith("contract."):
                continue
            apprentice = _apprentice(ce)
            touched.add(apprentice)
            raw.append(dict(event_id=ce["id"], apprentice_id=apprentice, contract_id=ce["subject"],
                            sequence=int(ce.get("sequence") or 0), type=ce["type"], data=ce.get("data") or {},
                            recorded_at=_recorded_at(ce)))
        if not raw:
            return
        await insert_many(conn, contract_events, raw, on_conflict_do_nothing=True)
        await self._summaries(conn, events)
        await recompute(conn, touched, self.clock.today())

    async def _summaries(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        signed, status = {}, {}
        for ce in events:
            version = int(ce.get("sequence") or 0)
            if ce["type"] == "contract.signed":
                # the stream is the contract: keyed like contract_events, whatever data.contract_id says
                signed[ce["subject"]] = signed_row(ce["data"], version) | {"contract_id": ce["subject"]}
            elif ce["type"] in STATUS_AFTER:
                status[ce["subject"]] = (STATUS_AFTER[ce["type"]], version)
        if signed:
            await insert_many(conn, contracts, list(signed.values()), upsert_on=("contract_id",))
        if status:  # one statement for every contract whose status changed in the batch
            await conn.execute(text(
                f"UPDATE {table_name(conn, contracts)} c SET status = u.status, version = u.version "
                "FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:versions AS int[])) "
                "AS u(contract_id, status, version) WHERE c.contract_id = u.contract_id AND c.version < u.version"),
                {"ids": list(status), "statuses": [st for st, _ in status.values()],
                 "versions": [v for _, v in status.values()]})


async def apprentice_of(conn: AsyncConnection, contract_id: str) -> str | None:
    return await conn.scalar(select(contract_events.c.apprentice_id)
                             .where(contract_events.c.contract_id == contract_id).limit(1))


async def path_events(conn: AsyncConnection, apprentice_ids, recorded_until=None) -> dict[str, list[dict]]:
    """The contract events of these apprentices' paths, in arrival order (one query)."""
    q = (select(contract_events.c.apprentice_id, contract_events.c.contract_id, contract_events.c.type,
                contract_events.c.data)
         .where(contract_events.c.apprentice_id == any_(bindparam("ids", list(apprentice_ids), ARRAY(Text))))
         .order_by(contract_events.c.apprentice_id, contract_events.c.arrival))
    if recorded_until is not None:
        q = q.where(contract_events.c.recorded_at <= recorded_until)
    out: dict[str, list[dict]] = defaultdict(list)
    for r in await conn.execute(q):
        out[r.apprentice_id].append({"type": r.type, "subject": r.contract_id, "data": r.data})
    return out


async def compute_paths(conn: AsyncConnection, apprentice_ids, today: date, recorded_until=None):
    by_path = await path_events(conn, apprentice_ids, recorded_until)
    events = [e for evs in by_path.values() for e in evs]
    rncps = {(e["data"].get("certification") or {}).get("rncp") for e in events if e["type"] == "contract.signed"}
    referential = await load_referential(conn, {r for r in rncps if r})
    return compute(events, referential, today)


async def recompute(conn: AsyncConnection, apprentice_ids: set[str], today: date) -> None:
    if not apprentice_ids:
        return
    ids = list(apprentice_ids)
    result = await compute_paths(conn, ids, today)
    for table in (spans, lines, advances):
        await delete_many(conn, table, [{"apprentice_id": a} for a in ids])
    cfa = {cid: f.cfa_uai for cid, f in result.contracts.items()}
    span_rows = [dict(contract_id=s.contract_id, apprentice_id=s.apprentice_id, opco=s.opco, cfa_uai=cfa[s.contract_id],
                      start_on=s.start, end_on=s.end, status=s.status, start_reason=s.start_reason,
                      end_reason=s.end_reason) for s in result.spans]
    line_rows = [dict(contract_id=l.contract_id, funding_year=l.funding_year, apprentice_id=l.apprentice_id,
                      opco=l.opco, cfa_uai=l.cfa_uai, period_start=l.period_start, period_end=l.period_end,
                      units=l.units, unit=l.unit, amount=l.amount, regime=l.regime, status=l.status,
                      employer_contribution=l.employer_contribution) for l in result.lines]
    apprentice_of = {cid: f.apprentice_id for cid, f in result.contracts.items()}
    advance_rows = [dict(contract_id=a["contract_id"], funding_year=a["funding_year"], advance=a["advance"],
                         apprentice_id=apprentice_of[a["contract_id"]], opco=a["opco"], cfa_uai=a["cfa_uai"],
                         amount=a["amount"], due_on=date.fromisoformat(a["due_on"]),
                         latest_on=date.fromisoformat(a["latest_on"]) if a.get("latest_on") else None)
                    for a in result.schedule]
    for table, rows in ((spans, span_rows), (lines, line_rows), (advances, advance_rows)):
        await insert_many(conn, table, rows)
