"""`parcours ops import-history`: a generated history loaded with COPY, versions checked, the read
model refreshed, a re-run writing nothing twice, bad files refused with a coded error; the hash
chain computed for a whole chunk at once is the chain the per-row trigger computes."""
import json
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from operations.history_file import write
from operations.import_history import ImportConflict, import_file
from services.contracts.adapters.contract_streams import store
from shared.eventstore.chain import verify_chain
from shared.eventstore.model import NewEvent, StreamAppend
from tests.integration.test_rebuild import ops
from tests.support import create_database, drop_database

ROWS = ("SELECT stream_id, stream_version, event_id, type, schema_version, data::text AS data, "
        "metadata::text AS metadata, recorded_at, prev_hash, hash FROM contracts.events ORDER BY global_position")


async def breaks(engine) -> tuple[list, int]:
    found, checked = [], 0
    async with engine.connect() as conn:
        async for item in verify_chain(conn, "contracts"):
            if isinstance(item, int):
                checked = item
            else:
                found.append(str(item))
    return found, checked


async def test_a_history_is_imported_once_with_its_read_model_and_chain(isolated, tmp_path):
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    events = write(history, 300, seed=5)

    first = ops(settings, "import-history", str(history), "--chunk", "400")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["events"] == events and report["skipped"] == 0
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT count(*) FROM contracts.events"))
        gaps = await conn.scalar(text("SELECT count(*) FROM (SELECT stream_id, max(stream_version) m, count(*) c "
                                      "FROM contracts.events GROUP BY stream_id) s WHERE m <> c"))
        statuses = dict((await conn.execute(text(
            "SELECT status, count(*) FROM contracts.contracts GROUP BY status"))).all())
        ruptures = await conn.scalar(text("SELECT count(DISTINCT stream_id) FROM contracts.events e WHERE "
                                          "type = 'contract.ruptured'"))
        contracts = await conn.scalar(text("SELECT count(DISTINCT stream_id) FROM contracts.events"))
    assert stored == events and gaps == 0
    assert sum(statuses.values()) == contracts >= 300
    assert statuses["ruptured"] == ruptures > 0 and statuses["completed"] > 0

    chain = ops(settings, "verify-chain", "--store", "contracts")
    assert chain.returncode == 0, chain.stdout + chain.stderr

    again = ops(settings, "import-history", str(history), "--chunk", "400")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"events": 0, "skipped": events, "contracts": report["contracts"]}
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM contracts.events")) == events


async def test_a_file_that_does_not_follow_on_from_the_store_is_refused(isolated, tmp_path):
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    write(history, 20, seed=6)
    assert ops(settings, "import-history", str(history)).returncode == 0
    first = json.loads(history.read_text().splitlines()[0])
    stream = first["streams"][0]["stream"]

    stale = tmp_path / "stale.jsonl"  # appends to a stream at a version it no longer has
    stale.write_text(json.dumps({"partition_key": first["partition_key"], "streams": [
        {"stream": stream, "expected_version": 2, "events": [
            {"id": "5d6c1f70-0c1e-4f7e-9a53-0d7a1c0b2e11", "type": "contract.completed",
             "data": {"contract_id": stream, "ended_on": "2026-01-31", "diploma_obtained": True}}]}]}) + "\n")
    refused = ops(settings, "import-history", str(stale))
    assert refused.returncode == 2 and "version_conflict" in refused.stderr and stream in refused.stderr

    broken = tmp_path / "broken.jsonl"
    broken.write_text(history.read_text().splitlines()[0] + "\n{\"streams\": 3}\n")
    bad = ops(settings, "import-history", str(broken))
    assert bad.returncode == 2 and "line 2: malformed_line" in bad.stderr

    gap = tmp_path / "gap.jsonl"
    line = json.loads(history.read_text().splitlines()[0])
    line["streams"][0]["expected_version"] = 7
    gap.write_text(history.read_text().splitlines()[0] + "\n" + json.dumps(line) + "\n")
    gapped = ops(settings, "import-history", str(gap))
    assert gapped.returncode == 2 and "line 2: version_gap" in gapped.stderr

    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM contracts.events WHERE event_id = "
                                      "'5d6c1f70-0c1e-4f7e-9a53-0d7a1c0b2e11'")) == 0


async def test_one_chunk_of_thousands_of_contracts_refreshes_their_read_model(isolated, tmp_path):
    """A default-sized chunk (20,000 events, ~4,000 contracts) closes thousands of deadlines in one
    statement: it once built a row constructor per pair and hit PostgreSQL's parser stack limit."""
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    events = write(history, 4300, seed=8)
    done = ops(settings, "import-history", str(history))
    assert done.returncode == 0, done.stderr[-2000:]
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT count(*) FROM contracts.events"))
        views = await conn.scalar(text("SELECT count(*) FROM contracts.contracts"))
        stale = await conn.scalar(text(
            "SELECT count(*) FROM contracts.deadlines d JOIN contracts.contracts c USING (contract_id) "
            "WHERE c.status IN ('completed', 'ruptured', 'cancelled')"))
    assert stored == events and views >= 4300 and stale == 0


async def test_an_imported_log_chains_exactly_as_the_same_log_appended_through_the_trigger(isolated, tmp_path):
    """The same rows (recorded_at included, the one value a second write cannot repeat by itself)
    inserted in another store the way the store's append inserts them, the trigger hashing each
    row: every prev_hash and hash is the one the import computed set-based."""
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    events = write(history, 60, seed=9)
    report = await import_file(engine, history, chunk_events=100)   # streams continue across chunks
    assert report.events == events
    async with engine.connect() as conn:
        imported = (await conn.execute(text(ROWS))).all()
    assert await breaks(engine) == ([], events)

    other = await create_database("chain")
    appended_engine = create_async_engine(other)
    try:
        async with appended_engine.begin() as conn:
            await conn.execute(text("""
                INSERT INTO contracts.events (stream_id, stream_version, event_id, type, schema_version, data,
                                              metadata, recorded_at)
                SELECT s, v, id, t, sv, d::jsonb, m::jsonb, at
                  FROM unnest(CAST(:s AS text[]), CAST(:v AS int[]), CAST(:id AS uuid[]), CAST(:t AS text[]),
                              CAST(:sv AS int[]), CAST(:d AS text[]), CAST(:m AS text[]), CAST(:at AS timestamptz[]))
                       WITH ORDINALITY AS u(s, v, id, t, sv, d, m, at, n)
                 ORDER BY n"""), {"s": [r.stream_id for r in imported], "v": [r.stream_version for r in imported],
                                  "id": [r.event_id for r in imported], "t": [r.type for r in imported],
                                  "sv": [r.schema_version for r in imported], "d": [r.data for r in imported],
                                  "m": [r.metadata for r in imported], "at": [r.recorded_at for r in imported]})
            appended = (await conn.execute(text(ROWS))).all()
    finally:
        await appended_engine.dispose()
        await drop_database(other)
    assert len({r.recorded_at for r in imported}) > 1   # one per chunk: several transactions
    assert [(r.stream_id, r.stream_version, r.prev_hash, r.hash) for r in appended] == \
           [(r.stream_id, r.stream_version, r.prev_hash, r.hash) for r in imported]


async def test_an_import_continues_streams_the_store_appended_and_a_partial_rerun_writes_the_rest_once(
        isolated, tmp_path):
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    events = write(history, 40, seed=11)
    lines = history.read_text().splitlines()
    first = json.loads(lines[0])
    stream = first["streams"][0]["stream"]
    async with engine.begin() as conn:   # the first command through the store, hashed by the trigger
        await store.append(conn, [StreamAppend(s["stream"], s["expected_version"], [
            NewEvent(e["type"], e["data"], uuid.UUID(e["id"]), e.get("schema_version", 1),
                     {"partitionkey": first["partition_key"], "actor": "import"}) for e in s["events"]])
            for s in first["streams"]])
    part = tmp_path / "part.jsonl"
    part.write_text("\n".join(lines[:len(lines) // 2]) + "\n")

    partial = await import_file(engine, part, chunk_events=50)
    whole = await import_file(engine, history, chunk_events=50)

    appended_first = sum(len(s["events"]) for s in first["streams"])
    assert partial.skipped == appended_first
    assert whole.skipped == partial.events + appended_first and whole.events == events - whole.skipped
    async with engine.connect() as conn:
        chain = (await conn.execute(text("SELECT stream_version, prev_hash, hash FROM contracts.events "
                                         "WHERE stream_id = :s ORDER BY stream_version"), {"s": stream})).all()
        stored = await conn.scalar(text("SELECT count(*) FROM contracts.events"))
    assert len(chain) > 1 and all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:]))
    assert stored == events
    assert await breaks(engine) == ([], events)


async def test_a_supplied_hash_is_kept_only_in_a_transaction_declaring_its_hashes_precomputed(isolated):
    settings, engine = isolated
    insert = text("INSERT INTO contracts.events (stream_id, stream_version, event_id, type, data, prev_hash, hash) "
                  "VALUES (:s, 1, :id, 'contract.cancelled', '{}', 'forged', :h) RETURNING prev_hash, hash")
    async with engine.begin() as conn:   # any other writer: the trigger hashes the row, whatever it supplies
        kept = (await conn.execute(insert, {"s": "c-plain", "id": uuid.uuid4(), "h": "f" * 64})).one()
        await conn.execute(text("SET LOCAL parcours.chain_precomputed = on"))
        computed = (await conn.execute(insert, {"s": "c-null", "id": uuid.uuid4(), "h": None})).one()
        trusted = (await conn.execute(insert, {"s": "c-declared", "id": uuid.uuid4(), "h": "f" * 64})).one()
    assert kept.prev_hash == "0" * 64 and kept.hash != "f" * 64
    assert computed.prev_hash == "0" * 64 and computed.hash is not None
    assert trusted == ("forged", "f" * 64)
    found, checked = await breaks(engine)   # and verify-chain names the one whose hash is wrong
    assert checked == 3 and len(found) == 2 and all("c-declared" in b for b in found)


async def test_a_chunk_that_conflicts_stops_the_import_with_every_chunk_before_it_written_and_none_after(
        isolated, tmp_path):
    """The next chunk is staged while one is written: it is still written only after that one
    committed, and not at all when that one fails."""
    settings, engine = isolated
    history = tmp_path / "history.jsonl"
    write(history, 40, seed=12)
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    middle = next(line for line in lines[len(lines) // 2:] if line["streams"][0]["expected_version"] == 0)
    taken = middle["streams"][0]   # a signature: the stream's first version
    async with engine.begin() as conn:   # a command got there first: the stream is past the file's version
        await store.append(conn, [StreamAppend(taken["stream"], taken["expected_version"], [
            NewEvent("contract.cancelled", {"contract_id": taken["stream"]}, uuid.uuid4())])])
    done, cut = 0, 0   # the file cut into chunks of 50 events, as read() cuts it, up to the chunk that conflicts
    for n, line in enumerate(lines):
        if line is middle:
            break
        done += sum(len(s["events"]) for s in line["streams"])
        if done >= 50:
            cut, done = n + 1, 0
    expected = sum(len(s["events"]) for line in lines[:cut] for s in line["streams"])

    try:
        await import_file(engine, history, chunk_events=50)
        raise AssertionError("the import went through a conflicting chunk")
    except ImportConflict as conflict:
        assert conflict.code == "version_conflict" and taken["stream"] in str(conflict)
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT count(*) FROM contracts.events WHERE stream_id <> :s"),
                                   {"s": taken["stream"]})
    assert cut > 0 and stored == expected   # every chunk before the conflict, nothing of it or after it
    assert await breaks(engine) == ([], stored + 1)
