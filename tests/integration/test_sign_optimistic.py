"""A signature without Idempotency-Key reads the apprentice's and the masters' live contracts
without holding them and appends in one statement guarded by a re-read that holds them (no BEGIN,
no COMMIT: two round trips); when they changed meanwhile it signs again holding them from the
start. Two signatures for one apprentice or one master still never pass together."""
import asyncio
import uuid

import pytest
from sqlalchemy import text

from contract_events.cerfa import Cerfa
from contract_events.signed import ContractTerms
from kernel.errors import Refused
from services.contracts.adapters.contract_listing import SqlContractViews
from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.application.sign import sign_contract
from shared.api.idempotency import Outcome
from shared.auth import Principal
from shared.db import make_engine
from tests.support import CFA_A, Keys, cerfa_body, contract_terms

H = Keys.header
CFA = Principal("test", "cfa", CFA_A)


async def _warm(contracts, keys) -> None:
    """A signature first, so that the app's engine has read the pseudonymisation key (see _key_read)."""
    assert (await contracts.post("/v1/contracts", json=contract_terms(), headers=H(keys.cfa_a))).status_code == 201


async def _key_read(engine) -> None:
    """The pseudonymisation key read once for this engine (the first read is a SQLAlchemy
    statement, which begins the unit's transaction: the live contracts would then be held)."""
    async with SqlUnitOfWork(engine) as uow:
        await uow.secrets.pseudonym_key()


class _Spy(SqlContractViews):
    """Reads as the SQL adapter does; what ``meanwhile`` holds runs once, right after the first
    unheld read; with a ``barrier`` (``masters_barrier``), every unheld read of the apprentice's
    (the masters') live contracts waits for the others' before going on."""
    holds: list[bool] = []
    meanwhile: list = []
    barrier: asyncio.Barrier | None = None
    masters_barrier: asyncio.Barrier | None = None

    async def live_for_apprentice(self, apprentice_id, *, hold=True):
        live = await super().live_for_apprentice(apprentice_id, hold=hold)
        self.holds.append(hold)
        if not hold and self.meanwhile:
            await self.meanwhile.pop()()
        if not hold and self.barrier is not None:
            await self.barrier.wait()
        return live

    async def live_for_masters(self, master_ids, *, hold=True):
        loads = await super().live_for_masters(master_ids, hold=hold)
        if not hold and self.masters_barrier is not None:
            await self.masters_barrier.wait()
        return loads


async def test_five_signatures_without_keys_for_one_apprentice_sign_one_contract(contracts, keys, engine,
                                                                                 monkeypatch):
    """All five read the apprentice's live contracts (none) before any appends: one signs, the four
    others find the apprentice changed at their append, read again holding it, and see it."""
    await _warm(contracts, keys)
    body = contract_terms()
    apprentice = body["apprentice"]["id"]
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractViews", _Spy)
    monkeypatch.setattr(_Spy, "holds", [])
    monkeypatch.setattr(_Spy, "barrier", asyncio.Barrier(5))
    answers = await asyncio.gather(*(contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
                                     for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [201, 422, 422, 422, 422], [r.text for r in answers]
    assert sorted(_Spy.holds) == [False] * 5 + [True] * 4
    (signed,) = [r.json()["contract_id"] for r in answers if r.status_code == 201]
    for r in answers:
        if r.status_code == 422:
            assert [e["code"] for e in r.json()["errors"]] == ["overlapping_contract"]
            assert signed in r.json()["errors"][0]["message"]
    async with engine.connect() as conn:
        views = (await conn.execute(text("SELECT contract_id FROM contracts.contracts WHERE apprentice_id = :a"),
                                    {"a": apprentice})).scalars().all()
    assert views == [signed]


async def test_four_signatures_at_once_with_one_master_sign_two(contracts, keys, monkeypatch):
    """Four apprentices, one master who may follow two: all four read the master's live contracts
    before any appends; two sign, the two others see them when they read again."""
    await _warm(contracts, keys)
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractViews", _Spy)
    monkeypatch.setattr(_Spy, "holds", [])
    monkeypatch.setattr(_Spy, "masters_barrier", asyncio.Barrier(4))
    master = cerfa_body()["masters"][0]

    def body():
        b = cerfa_body()
        b["masters"] = [master]
        return b
    answers = await asyncio.gather(*(contracts.post("/v1/contracts", json=body(), headers=H(keys.cfa_a))
                                     for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 201, 422, 422], [r.text for r in answers]
    for r in answers:
        if r.status_code == 422:
            assert [e["code"] for e in r.json()["errors"]] == ["master_too_many_apprentices"]


async def test_a_signature_whose_apprentice_was_signed_meanwhile_signs_again_holding_and_sees_it(
        contracts, keys, engine, monkeypatch):
    body = contract_terms()
    holds: list[bool] = []
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractViews", _Spy)
    monkeypatch.setattr(_Spy, "holds", holds)

    async def competitor():   # signs the same apprentice between the read and the append
        r = await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
        assert r.status_code == 201, r.text
    monkeypatch.setattr(_Spy, "meanwhile", [competitor])
    await _key_read(engine)
    with pytest.raises(Refused) as refused:
        await sign_contract(SqlUnitOfWork(engine), ContractTerms.model_validate(body), CFA)
    assert [e["code"] for e in refused.value.errors] == ["overlapping_contract"]
    assert holds[-2:] == [False, True]   # the first attempt read unheld, the second held


async def test_a_change_of_a_live_contract_meanwhile_only_makes_the_signature_run_again(
        contracts, keys, engine, monkeypatch):
    """The guard compares versions: a transmission of the apprentice's other live contract between
    the read and the append is a change; the second attempt, held, signs (no overlap)."""
    first = contract_terms(start_date="2024-09-28", planned_end_date="2025-06-30")
    r = await contracts.post("/v1/contracts", json=first, headers=H(keys.cfa_a))
    assert r.status_code == 201, r.text
    cid = r.json()["contract_id"]
    holds: list[bool] = []
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractViews", _Spy)
    monkeypatch.setattr(_Spy, "holds", holds)

    async def transmit():
        t = await contracts.post(f"/v1/contracts/{cid}/transmission", json={"transmitted_on": "2024-09-25", "by": "cfa"},
                                 headers=H(keys.cfa_a))
        assert t.status_code == 200, t.text
    monkeypatch.setattr(_Spy, "meanwhile", [transmit])
    await _key_read(engine)
    second = {**first, "signed_on": "2025-06-20", "start_date": "2025-07-01", "planned_end_date": "2026-06-30"}
    state = await sign_contract(SqlUnitOfWork(engine), ContractTerms.model_validate(second), CFA)
    assert state.version == 1 and holds[-2:] == [False, True]


async def test_a_signature_without_key_is_two_statements_without_begin_or_commit(settings, contracts, keys):
    engine = make_engine(settings, pool_size=1)   # one connection: every unit's statements on it
    try:
        await sign_contract(SqlUnitOfWork(engine), Cerfa.model_validate(cerfa_body()), CFA)   # the key read once
        statements: list[str] = []
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            driver.add_query_logger(lambda q: statements.append(q.query))
        state = await sign_contract(SqlUnitOfWork(engine), Cerfa.model_validate(cerfa_body()), CFA)
        await asyncio.sleep(0.01)   # asyncpg calls its query loggers soon after, not during
        assert state.version == 1
        assert len(statements) == 3, statements   # the apprentice's, the master's live contracts, the append
        assert not [s for s in statements if s.strip().rstrip(";").upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
        assert "append_events" in statements[-1] and "live_for_apprentice" in statements[-1]
        r = await contracts.get(f"/v1/contracts/{state.contract_id}", headers=H(keys.ops))
        assert r.status_code == 200 and r.json()["version"] == 1
    finally:
        await engine.dispose()


async def test_with_an_idempotency_key_the_signature_holds_in_one_transaction(settings, keys):
    engine = make_engine(settings, pool_size=1)
    try:
        await sign_contract(SqlUnitOfWork(engine), Cerfa.model_validate(cerfa_body()), CFA)
        statements: list[str] = []
        async with engine.connect() as conn:
            (await conn.get_raw_connection()).driver_connection.add_query_logger(
                lambda q: statements.append(q.query))
        unit = SqlUnitOfWork(engine)
        async with unit:
            async def action():
                state = await sign_contract(unit, Cerfa.model_validate(cerfa_body()), CFA)
                return Outcome(201, {"contract_id": state.contract_id})
            await unit.idempotency.once("test", f"key-{uuid.uuid4()}", "hash", action)
            await unit.commit()
        await asyncio.sleep(0.01)
        kinds = [s.strip().split()[0].upper().rstrip(";") for s in statements]
        assert kinds[0] == "BEGIN" and kinds[-1] == "COMMIT", statements
        assert not any("guard AS" in s for s in statements)   # held: nothing to re-read
    finally:
        await engine.dispose()
