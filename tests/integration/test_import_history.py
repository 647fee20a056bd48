"""`parcours ops import-history`: a generated history loaded with COPY, versions checked, the read
model refreshed, a re-run writing nothing twice, bad files refused with a coded error."""
import json

from sqlalchemy import text

from operations.history_file import write
from tests.integration.test_rebuild import ops


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
