"""A command's read-model and deadline writes travel in its append's statement (the store's
``then``, services/contracts/adapters/view_writes.py): written with the events, never when a
stream is stale, even when the competitor that made it stale committed after the statement
began (its snapshot is older than the function's locks); and an error of those writes is theirs,
not a concurrency conflict."""
import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.application.unit_of_work import StreamChanged
from services.contracts.domain.deadlines import deadlines
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import APPENDED
from tests.support import Keys, contract_terms

TRANSMITTED = ("contract.transmitted", {"transmitted_on": "2024-09-25"})
OVERDUE = ("contract.transmission_overdue", {"deadline_on": "2024-09-30"})


async def _signed(contracts, keys) -> str:
    r = await contracts.post("/v1/contracts", json=contract_terms(), headers=Keys.header(keys.cfa_a))
    assert r.status_code == 201, r.text
    return r.json()["contract_id"]


async def _stored(engine, cid: str):
    async with engine.connect() as conn:
        view = (await conn.execute(text("SELECT version, status, state FROM contracts.contracts "
                                        "WHERE contract_id = :c"), {"c": cid})).one()
        due = dict((await conn.execute(text("SELECT kind, due_on FROM contracts.deadlines WHERE contract_id = :c"),
                                       {"c": cid})).all())
    return tuple(view), due


async def test_the_views_and_deadlines_are_written_with_the_events(contracts, keys, engine):
    cid = await _signed(contracts, keys)
    async with SqlUnitOfWork(engine) as uow:
        state = await uow.contracts.load(cid)
        await uow.contracts.record([(state, [TRANSMITTED])], "test")
        assert state.version == 2 and state.status == "transmitted"   # the events applied
        await uow.commit()
    (version, status, stored), due = await _stored(engine, cid)
    assert (version, status) == (2, "transmitted") and stored["transmitted_on"] == "2024-09-25"
    assert due == {kind: on for kind, on in deadlines(state).items() if on is not None}
    assert "decision" in due and "transmission" not in due


async def test_a_stale_append_writes_no_view_and_leaves_the_state_as_it_was(contracts, keys, engine):
    cid = await _signed(contracts, keys)
    async with SqlUnitOfWork(engine) as late:
        old = await late.contracts.load(cid)
    async with SqlUnitOfWork(engine) as first:
        await first.contracts.record([(await first.contracts.load(cid), [TRANSMITTED])], "test")
        await first.commit()
    before = await _stored(engine, cid)
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(StreamChanged):
            await uow.contracts.record([(old, [OVERDUE])], "test")
        assert old.version == 1 and not old.transmission_overdue and old.status == "signed"
        await uow.commit()   # the transaction stayed usable; nothing of the stale append in it
    assert await _stored(engine, cid) == before


async def test_a_competitor_committing_while_the_statement_waits_wins_alone(contracts, keys, engine):
    """The loser's statement takes its snapshot before the winner commits, then waits for the
    stream's lock: the function sees the winner's events (a fresh snapshot after the lock), so
    the loser's view and deadline writes, on the older snapshot, are not done at all."""
    cid = await _signed(contracts, keys)
    async with SqlUnitOfWork(engine) as winner, SqlUnitOfWork(engine) as loser:
        mine, theirs = await winner.contracts.load(cid), await loser.contracts.load(cid)
        await winner.contracts.record([(mine, [TRANSMITTED])], "winner")   # holds the stream
        waiting = asyncio.create_task(loser.contracts.record([(theirs, [OVERDUE])], "loser"))
        await asyncio.sleep(0.3)
        assert not waiting.done()   # blocked on the winner's lock, its statement begun
        await winner.commit()
        with pytest.raises(StreamChanged):
            await waiting
        await loser.commit()
    (version, status, stored), due = await _stored(engine, cid)
    assert (version, status) == (2, "transmitted") and not stored["transmission_overdue"]
    assert set(due) == {"decision"}


async def test_an_error_of_the_then_writes_is_raised_as_it_is(contracts, keys, engine):
    cid = await _signed(contracts, keys)
    broken = f"bad AS (INSERT INTO contracts.deadlines (contract_id, kind, due_on) SELECT NULL, 'x', NULL WHERE {APPENDED})"
    async with SqlUnitOfWork(engine) as uow:
        state = await uow.contracts.load(cid)
        append = StreamAppend(cid, state.version, [NewEvent(*OVERDUE, metadata={"partitionkey": "k"})])
        with pytest.raises(asyncpg.NotNullViolationError):
            await store.append(uow.connection, [append], then=(broken, {}))
    async with SqlUnitOfWork(engine) as uow:   # a stale append: the gate keeps the bad write from running
        stale = StreamAppend(cid, 0, [NewEvent(*OVERDUE, metadata={"partitionkey": "k"})])
        with pytest.raises(ConcurrencyConflict):
            await store.append(uow.connection, [stale], then=(broken, {}))
