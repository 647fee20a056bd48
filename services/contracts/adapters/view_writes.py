"""The read model (``contracts.contracts``) and the running deadlines (``contracts.deadlines``),
refreshed in the transaction of each append, and by the history import (operations/)."""
from __future__ import annotations

from dataclasses import fields
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import contracts, deadlines
from services.contracts.application.unit_of_work import ContractView
from services.contracts.domain.deadlines import deadlines as running_deadlines
from services.contracts.domain.state import ContractState
from shared.db import delete_sql, execute, insert_sql, array_parameters, table_name
from shared.eventstore.store import APPENDED

_VIEW_FIELDS = tuple(f.name for f in fields(ContractView))
_GONE, _LIVE = ("contract_id", "kind"), ("contract_id", "kind", "due_on")


def view_row(state: ContractState) -> dict:
    """The read-model row of one contract (the view's fields as they are: it is written, not kept)."""
    view = ContractView.of(state)
    return {name: getattr(view, name) for name in _VIEW_FIELDS}


async def save_views(conn: AsyncConnection, states: list[ContractState]) -> None:
    """Refresh the read model and the running deadlines of these contracts: one statement
    whatever their number (one command saves one or two, a bulk import thousands), its three
    writes in data-modifying CTEs. They touch different rows (a deadline is either gone or
    running), so that they see the same snapshot does not matter."""
    if not states:
        return
    # on the driver's connection, in the caller's transaction (one prepared statement per connection)
    await execute(conn, _statement(table_name(conn, contracts), table_name(conn, deadlines)), _parameters(states))


def view_writes(conn: AsyncConnection, states: list[ContractState]) -> tuple[str, dict]:
    """``save_views``'s writes as the ``then`` of the append that brings these states (the
    store's ``append``): in its statement, done only when nothing was stale. Each write is keyed
    by contract: the view row of a contract, its deadlines. A competitor that changed one of
    them after the statement's snapshot was taken appended to its stream, so the append is
    stale and nothing is written; otherwise the snapshot holds the rows as they are."""
    return _then(table_name(conn, contracts), table_name(conn, deadlines)), _parameters(states)


def _parameters(states: list[ContractState]) -> dict:
    gone, live = [], []
    for state in states:
        for kind, due_on in running_deadlines(state).items():
            if due_on is None:
                gone.append(dict(contract_id=state.contract_id, kind=kind))
            else:
                live.append(dict(contract_id=state.contract_id, kind=kind, due_on=due_on))
    return {**array_parameters(contracts, _VIEW_FIELDS, [view_row(s) for s in states], "v_"),
            **array_parameters(deadlines, _GONE, gone, "g_"),
            **array_parameters(deadlines, _LIVE, live, "d_")}


def _writes(contracts_name: str, deadlines_name: str, where: str | None = None) -> tuple[str, str, str]:
    views = insert_sql(contracts, contracts_name, _VIEW_FIELDS, upsert_on=("contract_id",), prefix="v_", where=where)
    ended = delete_sql(deadlines, deadlines_name, _GONE, prefix="g_", where=where)
    running = insert_sql(deadlines, deadlines_name, _LIVE, upsert_on=("contract_id", "kind"), prefix="d_",
                         where=where)
    return views, ended, running


@lru_cache(maxsize=16)
def _statement(contracts_name: str, deadlines_name: str) -> str:
    """Built once per schema (the rebuild writes the same tables in another one)."""
    views, ended, running = _writes(contracts_name, deadlines_name)
    return f"WITH views AS ({views}), ended AS ({ended}) {running}"


@lru_cache(maxsize=16)
def _then(contracts_name: str, deadlines_name: str) -> str:
    views, ended, running = _writes(contracts_name, deadlines_name, APPENDED)
    return f"views AS ({views}), ended AS ({ended}), running AS ({running})"
