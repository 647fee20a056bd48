"""The quality service's copy of contract events (consumer group ``quality.contracts``): the input
of rupture analytics and financer coverage."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.adapters.tables import contract_events
from contract_events.facts import ContractFacts, fold_facts
from shared.db import insert_many


class QualityProjection:
    name = "quality.contracts"

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        rows = [dict(event_id=ce["id"], contract_id=ce["subject"], type=ce["type"], data=ce.get("data") or {},
                     cfa=((ce.get("data") or {}).get("cfa") or {}).get("uai") if ce["type"] == "contract.signed" else None,
                     recorded_at=datetime.fromisoformat(ce["time"]) if ce.get("time") else datetime.now(timezone.utc))
                for ce in events if ce["type"].startswith("contract.")]
        await insert_many(conn, contract_events, rows, on_conflict_do_nothing=True)


async def cfa_contracts(conn: AsyncConnection, cfa: str) -> dict[str, ContractFacts]:
    """The CFA's contracts, folded from the events consumed (two queries)."""
    ce = contract_events.c
    ids = select(ce.contract_id).where(ce.cfa == cfa, ce.type == "contract.signed")
    rows = await conn.execute(select(ce.contract_id, ce.type, ce.data).where(ce.contract_id.in_(ids))
                              .order_by(ce.arrival))
    return fold_facts({"type": r.type, "subject": r.contract_id, "data": r.data} for r in rows)
