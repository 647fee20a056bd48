"""The financing projection's batch writes: the stream (CloudEvents subject) is the contract."""
import uuid

from sqlalchemy import text

from services.financing.adapters.financing_projection import FinancingProjection
from operations.history_generator import generate
from shared.clock import SystemClock


async def test_two_streams_whose_data_repeat_a_contract_id_make_two_summaries_in_one_batch(isolated):
    """One multi-row upsert per batch must not meet the same key twice: rows are keyed by the
    subject, as the stored events are, not by a data.contract_id an ERP may have copied."""
    _, engine = isolated
    first = next(a for a in generate(5, seed=3) if a.streams[0][2][0][0] == "contract.signed")
    _, _, [(kind, data), *_] = first.streams[0]
    subjects = [f"c-{uuid.uuid4()}", f"c-{uuid.uuid4()}"]
    events = [{"id": str(uuid.uuid4()), "type": kind, "subject": s, "sequence": "1", "data": data,
               "partitionkey": first.partition_key, "time": "2026-01-05T10:00:00+00:00"} for s in subjects]
    async with engine.begin() as conn:
        await FinancingProjection(SystemClock()).apply(conn, events)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT contract_id, status FROM financing.contracts"))).all()
    assert sorted(rows) == sorted((s, "signed") for s in subjects)


def _cloudevents(appends) -> list[dict]:
    out = []
    for a in appends:
        for stream, version, events in a.streams:
            for i, (kind, data) in enumerate(events):
                out.append({"id": str(uuid.uuid4()), "type": kind, "subject": stream, "sequence": str(version + i + 1),
                            "data": data, "partitionkey": a.partition_key, "time": "2026-01-05T10:00:00+00:00"})
    return out


async def _funding(conn) -> tuple[list, list]:
    return ((await conn.execute(text("SELECT * FROM financing.lines ORDER BY 1, 2"))).all(),
            (await conn.execute(text("SELECT * FROM financing.advances ORDER BY 1, 2, 3"))).all())


async def test_a_path_recomputed_in_the_same_transaction_has_its_rows_replaced_by_one_statement(isolated):
    """replace_funding deletes and inserts the same keys in one statement (data-modifying CTEs):
    rows written by an earlier batch of the same transaction, or of an earlier one, are replaced,
    not duplicated nor refused; the result is the rows of the whole log applied at once."""
    _, engine = isolated
    events = _cloudevents(generate(40, seed=21))
    projection = FinancingProjection(SystemClock())
    async with engine.begin() as conn:
        for i in range(0, len(events), 7):   # many paths recomputed over several batches
            await projection.apply(conn, events[i:i + 7])
    async with engine.begin() as conn:
        await projection.apply(conn, events[:3])   # stored already: their paths recomputed again
    async with engine.connect() as conn:
        by_batches = await _funding(conn)
        await conn.execute(text("TRUNCATE financing.lines, financing.advances, financing.contracts, "
                                "financing.contract_events"))
        await conn.commit()
    async with engine.begin() as conn:
        await projection.apply(conn, events)
    async with engine.connect() as conn:
        assert await _funding(conn) == by_batches and by_batches[0] and by_batches[1]
