"""The quality projection's handler (docs/quality.md, *Contract events*): a batch of contract
events (CloudEvents) kept as received, each contract attributed to the UAI of its signature;
an event id already stored is skipped."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from contract_events.upcasting import upcast_cloudevent
from services.quality.application.unit_of_work import ContractEvent, QualityUnitOfWork


def _kept(ce: dict[str, Any]) -> ContractEvent:
    """The event at the current version (contract_events.upcasting), as it is kept."""
    data = upcast_cloudevent(ce).get("data") or {}
    uai = ((data.get("training") or {}).get("cfa") or {}).get("uai") if ce["type"] == "contract.signed" else None
    return ContractEvent(ce["id"], ce["subject"], uai, ce["type"], data,
                         datetime.fromisoformat(ce["time"]) if ce.get("time") else datetime.now(timezone.utc))


async def apply_contract_events(uow: QualityUnitOfWork, events: list[dict[str, Any]]) -> None:
    kept = [_kept(ce) for ce in events if ce["type"].startswith("contract.")]
    if not kept:
        return
    async with uow:
        await uow.contract_events.add(kept)
        await uow.commit()
