"""The read model (``contracts.contracts``) and the running deadlines (``contracts.deadlines``),
refreshed in the transaction of each append, and by the history import (operations/)."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import contracts, deadlines
from services.contracts.application.unit_of_work import ContractView
from services.contracts.domain.deadlines import deadlines as running_deadlines
from services.contracts.domain.state import ContractState
from shared.db import delete_many, insert_many


def view_row(state: ContractState) -> dict:
    """The read-model row of one contract."""
    return asdict(ContractView.of(state))


async def save_views(conn: AsyncConnection, states: list[ContractState]) -> None:
    """Refresh the read model and the running deadlines of these contracts (a few multi-row
    statements whatever their number: one command saves one or two, a bulk import thousands)."""
    if not states:
        return
    await insert_many(conn, contracts, [view_row(s) for s in states], upsert_on=("contract_id",))
    gone, live = [], []
    for state in states:
        for kind, due_on in running_deadlines(state).items():
            if due_on is None:
                gone.append(dict(contract_id=state.contract_id, kind=kind))
            else:
                live.append(dict(contract_id=state.contract_id, kind=kind, due_on=due_on))
    await delete_many(conn, deadlines, gone)
    await insert_many(conn, deadlines, live, upsert_on=("contract_id", "kind"))
