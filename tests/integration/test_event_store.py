"""The event store on real PostgreSQL: optimistic concurrency, atomic multi-stream appends,
gap-free reading in commit order."""
import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.eventstore.model import ConcurrencyConflict, Cursor, DuplicateEvent, NewEvent, StreamAppend
from shared.eventstore.store import EventStore
from tests.support import eventually

store = EventStore("quality")  # any service's store: the tables are identical


def ev(kind="test.happened", **data):
    return NewEvent(kind, data or {"n": 1})


async def test_concurrent_appends_at_the_same_version_one_wins(engine):
    stream = f"s-{uuid.uuid4()}"
    async with engine.begin() as conn:
        await store.append(conn, [StreamAppend(stream, 0, [ev()])])

    async def attempt(i):
        try:
            async with engine.begin() as conn:
                await store.append(conn, [StreamAppend(stream, 1, [ev(n=i), ev(n=i)])])
            return "ok"
        except ConcurrencyConflict:
            return "conflict"

    results = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    async with engine.connect() as conn:
        events = await store.read_stream(conn, stream)
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert events[1].data == events[2].data  # both from the single winner: nothing half-written


async def test_a_writer_that_lost_the_race_keeps_its_transaction_and_retries_in_it(engine):
    """The loser waits for the winner's commit, is told the version it missed, writes nothing,
    and can reload and append in the same transaction (the command handlers' retry loop)."""
    stream = f"s-{uuid.uuid4()}"
    async with engine.connect() as winner, engine.connect() as loser:
        await winner.begin()
        await store.append(winner, [StreamAppend(stream, 0, [ev(who="winner")])])
        await loser.begin()
        loser_pid = await loser.scalar(text("SELECT pg_backend_pid()"))
        late = asyncio.create_task(store.append(loser, [StreamAppend(stream, 0, [ev(who="loser")])]))

        async def queued():
            async with engine.connect() as probe:
                return await probe.scalar(text("SELECT 1 FROM pg_locks WHERE pid = :p AND NOT granted "
                                               "AND locktype = 'advisory'"), {"p": loser_pid})
        await eventually(queued, what="the loser to wait for the winner's stream lock")
        await winner.commit()
        with pytest.raises(ConcurrencyConflict) as lost:
            await late
        assert (lost.value.expected, lost.value.actual) == (0, 1)
        version = await store.stream_version(loser, stream)
        await store.append(loser, [StreamAppend(stream, version, [ev(who="loser")])])
        await loser.commit()
    async with engine.connect() as conn:
        events = await store.read_stream(conn, stream)
    assert [(e.stream_version, e.data["who"]) for e in events] == [(1, "winner"), (2, "loser")]


async def test_multi_stream_append_is_atomic(engine):
    a, b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    async with engine.begin() as conn:
        await store.append(conn, [StreamAppend(b, 0, [ev()])])
    with pytest.raises(ConcurrencyConflict):
        async with engine.begin() as conn:  # b is at 1, not 0: neither stream is written
            await store.append(conn, [StreamAppend(a, 0, [ev()]), StreamAppend(b, 0, [ev()])])
    async with engine.begin() as conn:
        recorded = await store.append(conn, [StreamAppend(a, 0, [ev()]), StreamAppend(b, 1, [ev()])])
    assert [(r.stream_id, r.stream_version) for r in recorded] == [(a, 1), (b, 2)]
    assert len({r.transaction_id for r in recorded}) == 1


async def test_an_event_id_is_recorded_once(engine):
    e = ev()
    async with engine.begin() as conn:
        await store.append(conn, [StreamAppend(f"d-{uuid.uuid4()}", 0, [e])])
    with pytest.raises(DuplicateEvent):
        async with engine.begin() as conn:
            await store.append(conn, [StreamAppend(f"d-{uuid.uuid4()}", 0, [e])])


@pytest.mark.parametrize("statement", [
    "DELETE FROM quality.events WHERE global_position = (SELECT min(global_position) FROM quality.events)",
    "UPDATE quality.events SET data = '{}' WHERE global_position = (SELECT min(global_position) FROM quality.events)",
    "UPDATE quality.events SET type = 'x.tampered' WHERE global_position = "
    "(SELECT max(global_position) FROM quality.events)"])
async def test_the_log_refuses_updates_and_deletes(engine, statement):
    async with engine.begin() as conn:  # at least one event to alter
        await store.append(conn, [StreamAppend(f"u-{uuid.uuid4()}", 0, [ev()])])
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(statement))


async def _tail(engine, cursor):
    async with engine.connect() as conn:
        return await store.read_all(conn, cursor, 10_000)


async def test_a_reader_never_skips_a_transaction_that_commits_late(engine):
    """T1 takes a lower position but commits after T2: the reader must wait for T1, then see
    both, T1 first (commit order by transaction id)."""
    start = Cursor()
    seen = await _tail(engine, start)
    cursor = seen[-1].cursor if seen else start
    s1, s2 = f"late-{uuid.uuid4()}", f"early-{uuid.uuid4()}"
    async with engine.connect() as t1:
        await t1.begin()
        await store.append(t1, [StreamAppend(s1, 0, [ev()])])
        async with engine.begin() as t2:
            await store.append(t2, [StreamAppend(s2, 0, [ev()])])
        visible = await _tail(engine, cursor)
        assert visible == []  # s2 is committed but would overtake the running s1: held back
        await t1.commit()
    after = await _tail(engine, cursor)
    assert [e.stream_id for e in after] == [s1, s2]
    assert after[0].global_position < after[1].global_position


async def test_a_long_transaction_of_another_database_does_not_hold_the_reader_back(engine):
    """xids are the cluster's, but only this database's transactions can write its events: one
    left open in another database (another stack's import, a benchmark) held every relay and
    feed of the cluster back until it ended (shared/eventstore/horizon.py)."""
    import asyncpg
    from sqlalchemy.engine import make_url
    url = make_url(str(engine.url))
    other = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
    try:
        await other.execute("BEGIN")
        await other.fetchval("SELECT pg_current_xact_id()")   # an xid, held until the end
        seen = await _tail(engine, Cursor())
        cursor = seen[-1].cursor if seen else Cursor()
        stream = f"meanwhile-{uuid.uuid4()}"
        async with engine.begin() as conn:
            await store.append(conn, [StreamAppend(stream, 0, [ev()])])
        assert [e.stream_id for e in await _tail(engine, cursor)] == [stream]
        # this database's own open transaction still holds it (the late-commit test above)
        async with engine.connect() as mine:
            await mine.begin()
            await mine.execute(text("SELECT pg_current_xact_id()"))
            later = f"held-{uuid.uuid4()}"
            async with engine.begin() as conn:
                await store.append(conn, [StreamAppend(later, 0, [ev()])])
            assert [e.stream_id for e in await _tail(engine, cursor)] == [stream]
            await mine.rollback()
        assert [e.stream_id for e in await _tail(engine, cursor)] == [stream, later]
    finally:
        await other.close()


async def test_many_writers_one_tailing_reader_sees_every_event_once(engine):
    writers, per_writer = 8, 40
    seen_before = await _tail(engine, Cursor())
    cursor = seen_before[-1].cursor if seen_before else Cursor()
    written: set[uuid.UUID] = set()
    done = asyncio.Event()

    async def writer(w):
        for i in range(per_writer):
            e = ev(w=w, i=i)
            async with engine.begin() as conn:
                await store.append(conn, [StreamAppend(f"w{w}-{uuid.uuid4()}", 0, [e])])
            written.add(e.event_id)

    seen: list = []

    async def reader():
        # An empty read proves nothing once the writers are done: the xid8 rule holds events back
        # while any transaction of the cluster that started before them is open. The reader stops
        # when every written event has come through (or reports what is missing after 60 s).
        nonlocal cursor
        deadline = None
        while True:
            finished = done.is_set()
            batch = await _tail(engine, cursor)
            seen.extend(batch)
            if batch:
                cursor = batch[-1].cursor
            elif finished:
                if written <= {e.event_id for e in seen}:
                    return
                deadline = deadline or asyncio.get_running_loop().time() + 60
                assert asyncio.get_running_loop().time() < deadline, "events never came through the feed"
                await asyncio.sleep(0.01)
            else:
                await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await task
    ids = [e.event_id for e in seen if e.event_id in written]
    assert len(ids) == len(set(ids)) == writers * per_writer
    order = [(e.transaction_id, e.global_position) for e in seen]
    assert order == sorted(order)
