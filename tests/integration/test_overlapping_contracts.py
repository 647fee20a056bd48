"""One apprentice, one contract at a time, over HTTP and PostgreSQL: five signatures for one
apprentice at the same instant, each with its own Idempotency-Key, give one contract."""
import asyncio

from sqlalchemy import text

from tests.support import CFA_B, Keys, contract_terms

H = Keys.header


async def test_five_signatures_for_one_apprentice_at_once_sign_one_contract(contracts, keys, engine):
    body = contract_terms()
    apprentice = body["apprentice"]["id"]

    async def sign(i: int):
        return await contracts.post("/v1/contracts", json=body,
                                    headers={**H(keys.cfa_a), "Idempotency-Key": f"race-{apprentice}-{i}"})

    answers = await asyncio.gather(*(sign(i) for i in range(5)))
    assert sorted(r.status_code for r in answers) == [201, 422, 422, 422, 422], [r.text for r in answers]
    (signed,) = [r.json()["contract_id"] for r in answers if r.status_code == 201]
    for r in answers:
        if r.status_code == 422:
            problem = r.json()
            assert problem["type"] == "urn:parcours:problem:contract-rules"
            assert problem["errors"] == [{
                "field": "apprentice.id", "code": "overlapping_contract", "article": "L6221-1",
                "message": f"The apprentice is already under contract {signed} from 2024-09-28 to 2025-10-03: "
                           "a second contract cannot cover the same days."}]
    async with engine.connect() as conn:
        recorded = (await conn.execute(text(
            "SELECT stream_id FROM contracts.events WHERE type = 'contract.signed' "
            "AND data -> 'apprentice' ->> 'id' = :a"), {"a": apprentice})).scalars().all()
        views = (await conn.execute(text("SELECT contract_id FROM contracts.contracts WHERE apprentice_id = :a"),
                                    {"a": apprentice})).scalars().all()
    assert recorded == views == [signed]


async def test_another_cfa_is_told_the_days_not_the_contract(contracts, keys):
    body = contract_terms()
    assert (await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))).status_code == 201
    r = await contracts.post("/v1/contracts", json={**body, "cfa": {"uai": CFA_B}}, headers=H(keys.cfa_b))
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{
        "field": "apprentice.id", "code": "overlapping_contract", "article": "L6221-1",
        "message": "The apprentice is already under another CFA's contract from 2024-09-28 to 2025-10-03: "
                   "a second contract cannot cover the same days."}]
