"""The financing projection's batch writes: one statement per port call whatever the batch's size
(``INSERT ... SELECT FROM unnest(arrays)``, ``DELETE ... USING unnest``; no per-event round trip).

Each statement's text is built once per schema and runs on the driver's connection in the
caller's transaction (``shared.db.execute``): asyncpg prepares it once per connection, and a batch
pays neither SQLAlchemy's compile nor its parameter processing. Table names honour the
connection's ``schema_translate_map`` (the ops rebuild writes elsewhere)."""
from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from operator import attrgetter
from typing import Collection

from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.financing_tables import advances as advance_rows
from services.financing.adapters.financing_tables import contract_events, contracts, lines
from services.financing.application.unit_of_work import ContractSummary, FundingYear, PathEvent, StoredAdvance
from shared.db import delete_sql, execute, insert_sql, json_text, table_name, unnest


def _names(kind) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


_EVENT, _SUMMARY, _YEAR, _ADVANCE = _names(PathEvent), _names(ContractSummary), _names(FundingYear), _names(StoredAdvance)
_KEY = ("apprentice_id",)


def columns(items: list, names: tuple[str, ...], prefix: str = "c_") -> dict[str, list]:
    """One array parameter per field (``:<prefix><name>``) of these dataclasses, in one pass."""
    if len(names) == 1:
        return {f"{prefix}{names[0]}": [getattr(i, names[0]) for i in items]}
    arrays = zip(*map(attrgetter(*names), items)) if items else [()] * len(names)
    return {f"{prefix}{name}": list(values) for name, values in zip(names, arrays)}


class SqlProjectionWrites:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    def _name(self, table) -> str:
        return table_name(self.conn, table)

    async def add_events(self, events: list[PathEvent]) -> None:
        """Events stored already (the same event id) are skipped: ``ON CONFLICT DO NOTHING``."""
        if not events:
            return
        params = columns(events, _EVENT)
        params["c_data"] = [json_text(d) for d in params["c_data"]]
        await execute(self.conn, _events_sql(self._name(contract_events)), params)

    async def save_signed(self, summaries: list[ContractSummary]) -> None:
        """Upserted whole (every column but the key from the new row)."""
        if not summaries:
            return
        await execute(self.conn, _signed_sql(self._name(contracts)), columns(summaries, _SUMMARY))

    async def set_statuses(self, statuses: dict[str, tuple[str, int]]) -> None:
        """One statement for every contract whose status changed in the batch."""
        if not statuses:
            return
        await execute(self.conn, _statuses_sql(self._name(contracts)),
                      {"ids": list(statuses), "statuses": [st for st, _ in statuses.values()],
                       "versions": [v for _, v in statuses.values()]})

    async def replace_funding(self, apprentice_ids: Collection[str], years: list[FundingYear],
                              advances: list[StoredAdvance]) -> None:
        """The paths' funding years and advances deleted and inserted anew, in one statement."""
        if not (apprentice_ids or years or advances):
            return
        params = {"k_apprentice_id": list(apprentice_ids), **columns(years, _YEAR, "l_"),
                  **columns(advances, _ADVANCE, "a_")}
        await execute(self.conn, _funding_sql(self._name(lines), self._name(advance_rows)), params)


# Built once per schema (the rebuild writes the same tables in another one).

@lru_cache(maxsize=16)
def _events_sql(name: str) -> str:
    return insert_sql(contract_events, name, _EVENT, do_nothing=True)


@lru_cache(maxsize=16)
def _signed_sql(name: str) -> str:
    return insert_sql(contracts, name, _SUMMARY, upsert_on=("contract_id",))


@lru_cache(maxsize=16)
def _statuses_sql(name: str) -> str:
    return (f"UPDATE {name} c SET status = u.status, version = u.version "
            "FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:versions AS int[])) "
            "AS u(contract_id, status, version) WHERE c.contract_id = u.contract_id AND c.version < u.version")


@lru_cache(maxsize=16)
def _funding_sql(lines_name: str, advances_name: str) -> str:
    """Two deletes and two inserts in data-modifying CTEs. They see one snapshot and their order
    is otherwise unspecified, so each insert waits for its table's delete (an InitPlan on the
    delete's rows, run before the insert's first row): a row deleted by this very statement does
    not conflict with the row inserted with its key (as with two statements), while a row of the
    same key that the delete did not take still raises the unique violation."""
    def insert(table, name, names, prefix, after):
        select_list, source = unnest(table, names, prefix)
        return (f"INSERT INTO {name} ({', '.join(names)}) SELECT {select_list} FROM {source} "
                f"WHERE (SELECT count(*) FROM {after}) >= 0")
    return (f"WITH gone_lines AS ({delete_sql(lines, lines_name, _KEY, 'k_')} RETURNING 1), "
            f"gone_advances AS ({delete_sql(advance_rows, advances_name, _KEY, 'k_')} RETURNING 1), "
            f"new_lines AS ({insert(lines, lines_name, _YEAR, 'l_', 'gone_lines')}) "
            + insert(advance_rows, advances_name, _ADVANCE, "a_", "gone_advances"))
