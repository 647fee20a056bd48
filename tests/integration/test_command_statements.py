"""A lifecycle command without Idempotency-Key reads its contract's stream in a statement of its
own and appends at the version it read in another (no BEGIN, no COMMIT): while it decides, its
connection holds no transaction. The append's version check is what keeps two commands on one
contract apart: both read before either appends, one appends, the other finds the stream moved,
reads again and is answered on the new state."""
import asyncio

import pytest
from sqlalchemy import text

from services.contracts.adapters.contract_streams import SqlContractStreams
from tests.integration.lifecycle_api import ContractsApi


@pytest.fixture
def api(contracts, keys):
    return ContractsApi(contracts, keys)


class _Spy(SqlContractStreams):
    """Loads as the SQL adapter does, then notes the backend's state seen from another connection
    (``idle``: no transaction open; ``idle in transaction``: one is), again after each append
    (a sign's too), and, with a ``barrier``,
    the first loads (as many as its parties) wait for each other before deciding."""
    engine = None
    states: list[str] = []
    barrier: asyncio.Barrier | None = None

    async def load(self, contract_id):
        state = await super().load(contract_id)
        self.states.append(await self._state())
        if self.barrier is not None and len(self.states) <= self.barrier.parties:   # (no record yet)
            await self.barrier.wait()
        return state

    async def record(self, changes, actor, *, last=False):
        await super().record(changes, actor, last=last)
        self.states.append("recorded, " + await self._state())

    async def _state(self) -> str:
        pid = self.conn.outside()[0].get_server_pid()
        async with self.engine.connect() as probe:
            return await probe.scalar(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})


@pytest.fixture
def spy(monkeypatch, engine):
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractStreams", _Spy)
    monkeypatch.setattr(_Spy, "engine", engine)
    monkeypatch.setattr(_Spy, "states", [])
    monkeypatch.setattr(_Spy, "barrier", None)
    return _Spy


async def test_a_command_decides_outside_any_transaction_and_its_append_is_kept(api, spy):
    cid = (await api.sign())["contract_id"]
    spy.states.clear()
    await api.transmit(cid)
    assert spy.states == ["idle", "recorded, idle"]   # read, then appended and committed by one statement
    assert await api.event_types(cid) == ["contract.signed", "contract.transmitted"]


async def test_with_an_idempotency_key_the_read_is_in_the_keys_transaction(api, spy):
    cid = (await api.sign())["contract_id"]
    spy.states.clear()
    await api.transmit(cid, headers={"Idempotency-Key": "transmit-once"})
    again = await api.transmit(cid, headers={"Idempotency-Key": "transmit-once"})   # the stored answer
    assert spy.states == ["idle in transaction", "recorded, idle in transaction"]   # committed with the key
    assert again["version"] == 2
    assert await api.event_types(cid) == ["contract.signed", "contract.transmitted"]


async def test_two_commands_read_before_either_appends_one_ruptures_the_other_reads_again(api, spy):
    cid = (await api.sign())["contract_id"]
    await api.transmit(cid)
    await api.accept(cid)
    await api.deposit(cid)
    spy.states.clear()
    spy.barrier = asyncio.Barrier(2)   # both loads done before either decides
    answers = await asyncio.gather(
        api.c.post(f"/v1/contracts/{cid}/rupture", headers=api.k.header(api.k.cfa_a),
                   json={"ruptured_on": "2025-01-15", "reason": "mutual_agreement", "initiator": "both",
                         "continues_training": True}),
        api.c.post(f"/v1/contracts/{cid}/rupture", headers=api.k.header(api.k.cfa_a),
                   json={"ruptured_on": "2025-01-20", "reason": "mutual_agreement", "initiator": "both",
                         "continues_training": True}))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    # the loser's append found the stream moved: it read a third time, unheld, and was refused
    assert sorted(spy.states) == ["idle"] * 3 + ["recorded, idle"], spy.states
    assert (await api.event_types(cid)).count("contract.ruptured") == 1
