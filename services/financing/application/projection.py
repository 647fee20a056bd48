"""The financing projection of contract events (consumer group ``financing.contracts``)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.tables import contracts
from shared.months import months_started
from services.financing.domain.policy import regime_of

_STATUS = {"contract.transmitted": "transmitted", "contract.funding_accepted": "accepted",
           "contract.funding_refused": "refused", "contract.funding_implicitly_rejected": "refused",
           "contract.funding_implicitly_accepted": "accepted", "contract.deposited": "deposited",
           "contract.ruptured": "ruptured", "contract.completed": "completed",
           "contract.cancelled": "cancelled"}


def signed_row(data: dict[str, Any], version: int) -> dict[str, Any]:
    start, end = date.fromisoformat(data["start_date"]), date.fromisoformat(data["planned_end_date"])
    signed_on = date.fromisoformat(data["signed_on"])
    return dict(contract_id=data["contract_id"], apprentice_id=data["apprentice"]["id"],
                cfa_uai=data["cfa"]["uai"], cfa_siret=data["cfa"].get("siret"), opco=data.get("opco"),
                regime=regime_of(signed_on), signed_on=signed_on, start_date=start, planned_end_date=end,
                planned_months=months_started(start, end), status="signed", version=version)


class FinancingProjection:
    name = "financing.contracts"

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        signed = {}
        for ce in events:
            version = int(ce.get("sequence", 0))
            if ce["type"] == "contract.signed":
                signed[ce["subject"]] = signed_row(ce["data"], version)
                continue
            if signed:  # keep order: write pending signatures before a later transition
                await _upsert(conn, list(signed.values()))
                signed = {}
            status = _STATUS.get(ce["type"])
            if status:
                await conn.execute(update(contracts).where(contracts.c.contract_id == ce["subject"])
                                   .values(status=status, version=version))
        if signed:
            await _upsert(conn, list(signed.values()))


async def _upsert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    stmt = insert(contracts).values(rows)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[contracts.c.contract_id],
        set_={k: stmt.excluded[k] for k in rows[0] if k != "contract_id"}))
