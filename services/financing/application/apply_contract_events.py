"""The financing projection's handler: a batch of contract events (CloudEvents) in.

It keeps the contract events received (the inputs of time travel), refreshes the contract
summaries, then recomputes the funding of every apprentice path the batch touched, all in one
unit of work whatever the batch's size."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from contract_events.catalogue import STATUS_AFTER
from contract_events.upcasting import upcast_cloudevent
from kernel.months import months_started
from services.financing.application.funding_paths import recompute
from services.financing.application.unit_of_work import ContractSummary, FinancingUnitOfWork, PathEvent
from services.financing.domain.policy import regime_of


def apprentice_key(ce: dict[str, Any]) -> str:
    key = ce.get("partitionkey") or (ce.get("data", {}).get("apprentice") or {}).get("id")
    if not key:
        raise ValueError("the event names no apprentice (partitionkey)")
    return key


def _recorded_at(ce: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ce["time"]) if ce.get("time") else datetime.now(timezone.utc)


def signed_summary(contract_id: str, data: dict[str, Any], version: int) -> ContractSummary:
    """The summary of a signature (its data at the current version)."""
    contract, cfa = data["contract"], data["training"]["cfa"]
    start, end = date.fromisoformat(contract["start_date"]), date.fromisoformat(contract["planned_end_date"])
    signed_on = date.fromisoformat(contract["signed_on"])
    return ContractSummary(contract_id, data["apprentice"]["id"], cfa["uai"], cfa.get("siret"),
                           data.get("opco"), regime_of(signed_on), signed_on, start, end,
                           months_started(start, end), "signed", version)


async def apply_contract_events(uow: FinancingUnitOfWork, events: list[dict[str, Any]], today: date) -> None:
    stored, touched = [], set()
    signed: dict[str, ContractSummary] = {}
    statuses: dict[str, tuple[str, int]] = {}
    for ce in events:
        if not ce["type"].startswith("contract."):
            continue
        ce = upcast_cloudevent(ce)   # kept and read at the current version
        apprentice = apprentice_key(ce)
        touched.add(apprentice)
        version = int(ce.get("sequence") or 0)
        stored.append(PathEvent(ce["id"], apprentice, ce["subject"], version, ce["type"], ce.get("data") or {},
                                _recorded_at(ce)))
        if ce["type"] == "contract.signed":
            # the stream is the contract: keyed like the stored events, whatever data.contract_id says
            signed[ce["subject"]] = signed_summary(ce["subject"], ce["data"], version)
        elif ce["type"] in STATUS_AFTER:
            statuses[ce["subject"]] = (STATUS_AFTER[ce["type"]], version)
    if not stored:
        return
    async with uow:
        await uow.projection.add_events(stored)
        await uow.projection.save_signed(list(signed.values()))
        await uow.projection.set_statuses(statuses)
        await recompute(uow, touched, today)
        await uow.commit()
