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
