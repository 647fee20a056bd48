"""The read side of the read model (``contracts.contracts``): one contract, and the listing a key
may see, by signature date then id (keyset pagination). The tenancy predicate is kernel/access.py's
rule (``matched_by``) turned into SQL here, and only here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import contracts
from services.contracts.application.unit_of_work import ContractView, ListFilters
from services.contracts.domain.rules import NOT_LIVE_STATUSES
from shared.db import driver_connection, driver_outside, json_text
from kernel.access import Principal
from kernel.access import matched_by

c = contracts.c
COLUMNS = [c[name] for name in ContractView.__dataclass_fields__]
_NAMES = ", ".join(ContractView.__dataclass_fields__)
# Hold the apprentice (a transaction-level advisory lock in a key space of its own; the store's
# append locks use hashtext('contracts.events')), then read its live contracts: one call to the
# function of migration contracts_0007, whose read takes a fresh snapshot after the lock (index
# contracts_by_apprentice serves it). Both calls run on the driver's connection in the unit's
# transaction, prepared once per connection.
LIVE_FOR_APPRENTICE = f"SELECT {_NAMES} FROM contracts.live_for_apprentice($1, $2::text[])"
# The same for masters (R6223-6 counts their live apprentices), held in sorted order against
# deadlocks; index contracts_by_master serves the containment test that follows.
LIVE_FOR_MASTERS = "SELECT contract_id, state FROM contracts.live_for_masters($1::text[], $2::jsonb[], $3::text[])"
NOT_LIVE = list(NOT_LIVE_STATUSES)
# ContractState.deposit_number in the folded state the read model keeps (not a term of the CERFA)
DEPOSIT_NUMBER = c.state["deposit_number"].astext


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The contracts this key may see: one of the columns the tenancy rule names equals its
    organisation (ops: every contract; an unknown role: none)."""
    fields = matched_by(principal)
    if fields is None:
        return true()
    return or_(*(c[name] == principal.org for name in fields)) if fields else false()


def _filtered(q, f: ListFilters):
    for column, value in ((c.status, f.status), (c.opco, f.opco)):
        if value is not None:
            q = q.where(column == value)
    if f.cfa is not None:
        q = q.where(or_(c.cfa_uai == f.cfa, c.cfa_siret == f.cfa))
    if f.signed_from is not None:
        q = q.where(c.signed_on >= f.signed_from)
    if f.signed_to is not None:
        q = q.where(c.signed_on <= f.signed_to)
    return q


@dataclass
class UnheldReads:
    """The live contracts a unit read without holding them (``hold=False`` and no transaction
    open: the functions' locks ended with their statements), as ``contract_id:version``, by id.
    The unit's append (contract_streams.py) re-reads them in its statement through the same
    functions, which hold them until it commits and see what was committed before they got
    them, and appends only if they are as read (``guard``)."""
    apprentice: tuple[str, list[str]] | None = None      # (apprentice id, what was read)
    masters: tuple[list[str], list[str]] | None = None   # (master ids, sorted, what was read)

    def guard(self) -> tuple[str, dict[str, Any]] | None:
        """The append's guard (shared/eventstore/store.py), None when nothing was read unheld.
        The apprentice is held before the masters, as when they are read held."""
        if self.apprentice is None and self.masters is None:
            return None
        params: dict[str, Any] = {"g_not_live": NOT_LIVE}
        if self.apprentice is not None:
            params["g_apprentice"], params["g_apprentice_read"] = self.apprentice
        if self.masters is not None:
            ids, read = self.masters
            params.update(g_masters=ids, g_patterns=_patterns(ids), g_masters_read=read)
        return _guard_sql(self.apprentice is not None, self.masters is not None), params

    def clear(self) -> None:
        self.apprentice = self.masters = None


_SAME_APPRENTICE = ("(SELECT coalesce(array_agg(c.contract_id || ':' || c.version ORDER BY c.contract_id COLLATE \"C\"), "
                    "'{}') FROM contracts.live_for_apprentice(:g_apprentice, CAST(:g_not_live AS text[])) c) "
                    "= CAST(:g_apprentice_read AS text[])")
_SAME_MASTERS = ("(SELECT coalesce(array_agg(m.contract_id || ':' || (m.state ->> 'version') "
                 "ORDER BY m.contract_id COLLATE \"C\"), '{}') FROM contracts.live_for_masters("
                 "CAST(:g_masters AS text[]), CAST(:g_patterns AS jsonb[]), CAST(:g_not_live AS text[])) m) "
                 "= CAST(:g_masters_read AS text[])")


@lru_cache(maxsize=4)
def _guard_sql(apprentice: bool, masters: bool) -> str:
    if apprentice and masters:   # CASE: the masters only once the apprentice is held (lock order)
        return f"SELECT CASE WHEN {_SAME_APPRENTICE} THEN {_SAME_MASTERS} ELSE false END AS ok"
    return f"SELECT {_SAME_APPRENTICE if apprentice else _SAME_MASTERS} AS ok"


def _patterns(ids: list[str]) -> list[str]:
    return [json_text([{"id": m}]) for m in ids]


def _read(pairs) -> list[str]:
    """``contract_id:version`` by contract id (code point order: the guard's COLLATE "C")."""
    return [f"{cid}:{version}" for cid, version in sorted(pairs)]


async def _driver(conn: AsyncConnection, hold: bool):
    """(the driver's connection, whether what the statement locks stays held until the unit ends)."""
    return (await driver_connection(conn), True) if hold else await driver_outside(conn)


class SqlContractViews:
    def __init__(self, conn: AsyncConnection, unheld: UnheldReads | None = None):
        self.conn = conn
        self.unheld = unheld if unheld is not None else UnheldReads()

    async def get(self, contract_id: str) -> ContractView | None:
        row = (await self.conn.execute(select(*COLUMNS).where(c.contract_id == contract_id))).first()
        return None if row is None else ContractView(*row)

    async def page(self, principal: Principal, filters: ListFilters, after: tuple[date, str] | None,
                   limit: int) -> list[ContractView]:
        q = _filtered(select(*COLUMNS).where(visible_to(principal)), filters)
        if after is not None:
            q = q.where(tuple_(c.signed_on, c.contract_id) > tuple_(*after))
        q = q.order_by(c.signed_on, c.contract_id).limit(limit)
        return [ContractView(*row) for row in await self.conn.execute(q)]

    async def live_for_apprentice(self, apprentice_id: str, *, hold: bool = True) -> list[ContractView]:
        apg, held = await _driver(self.conn, hold)
        views = [ContractView(*row) for row in await apg.fetch(LIVE_FOR_APPRENTICE, apprentice_id, NOT_LIVE)]
        if not held:
            self.unheld.apprentice = (apprentice_id, _read((v.contract_id, v.version) for v in views))
        return views

    async def live_for_masters(self, master_ids: list[str], *, hold: bool = True) -> dict[str, list[dict[str, Any]]]:
        """master id -> the states of the live contracts that name the master; the masters stay
        held until the unit ends (two signatures with one master run one after the other), or
        are re-read by the append with ``hold=False`` (UnheldReads)."""
        if not master_ids:
            return {}
        ids = sorted(set(master_ids))
        apg, held = await _driver(self.conn, hold)
        rows = await apg.fetch(LIVE_FOR_MASTERS, ids, _patterns(ids), NOT_LIVE)
        if not held:
            self.unheld.masters = (ids, _read((cid, state["version"]) for cid, state in rows))
        out: dict[str, list[dict[str, Any]]] = {m: [] for m in ids}
        for _, state in rows:
            for m in (state["terms"].get("masters") or []):
                if m.get("id") in out:
                    out[m["id"]].append(state)
        return out

    async def deca_candidates(self, principal: Principal, start_dates: list[date],
                              opco: str | None) -> list[ContractView]:
        """One statement for a DECA reconciliation: every deposited contract the key may see,
        and those starting on one of the extract's start dates (matched by employer and date)."""
        q = select(*COLUMNS).where(visible_to(principal),
                                   or_(DEPOSIT_NUMBER.is_not(None), c.start_date.in_(start_dates) if start_dates
                                       else false()))
        if opco is not None:
            q = q.where(c.opco == opco)
        return [ContractView(*row) for row in await self.conn.execute(q.order_by(c.contract_id))]

    async def deposited(self, principal: Principal, offset: int, limit: int) -> tuple[list[ContractView], int]:
        """A page of the deposited contracts the key may see (by deposit number, then id) and
        their count: two statements, for a unit opened as a snapshot."""
        where = (visible_to(principal), DEPOSIT_NUMBER.is_not(None))
        total = (await self.conn.execute(select(func.count()).select_from(contracts).where(*where))).scalar_one()
        q = select(*COLUMNS).where(*where).order_by(DEPOSIT_NUMBER, c.contract_id).offset(offset).limit(limit)
        return [ContractView(*row) for row in await self.conn.execute(q)], total
