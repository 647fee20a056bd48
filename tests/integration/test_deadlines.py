"""Legal deadlines run by themselves, exactly once, driven by an injected clock."""
import asyncio
from datetime import date

import pytest

from services.contracts.adapters.contract_streams import SqlContractStreams
from services.contracts.adapters.deadline_scheduler import tick
from shared.db import make_engine
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually, isolated_contracts


@pytest.fixture
async def env():
    async with isolated_contracts(scheduler_interval_seconds=0.05) as (client, app, keys, _, clock):
        yield ContractsApi(client, keys), app, clock


async def test_transmission_overdue_fires_once_even_with_two_schedulers(env):
    api, app, _ = env
    ids = [(await api.sign(signed_on="2025-04-25", start_date="2025-04-30", planned_end_date="2026-08-31"))["contract_id"] for _ in range(6)]
    await api.transmit(ids[0], on="2025-05-02")
    engine_b = make_engine(app.state.settings, pool_size=2)  # a second scheduler instance
    try:
        # deadline: 5 jours ouvrables after 2025-04-30 is 2025-05-07 (1 May and Sunday 4 May skipped)
        assert await tick(app.state.engine, date(2025, 5, 7)) == 0
        raised = await asyncio.gather(tick(app.state.engine, date(2025, 5, 8)), tick(engine_b, date(2025, 5, 8)))
        assert sum(raised) == 5
        assert await tick(engine_b, date(2025, 5, 20)) == 0  # before the 20 days of the transmitted one
    finally:
        await engine_b.dispose()
    assert await api.event_types(ids[0]) == ["contract.signed", "contract.transmitted"]
    for cid in ids[1:]:
        assert await api.event_types(cid) == ["contract.signed", "contract.transmission_overdue"]
    events = (await api.c.get(f"/v1/contracts/{ids[1]}/events", headers=Keys.header(api.k.ops))).json()["events"]
    assert events[1]["data"]["deadline_on"] == "2025-05-07"
    await api.transmit(ids[1], on="2025-05-09")  # late transmission is still accepted


async def test_twenty_days_of_silence_then_a_late_explicit_acceptance(env):
    api, app, _ = env
    cid = (await api.sign())["contract_id"]
    await api.transmit(cid, on="2024-09-30", complete_on="2024-10-01")
    assert await tick(app.state.engine, date(2024, 10, 21)) == 0   # the 20th day is still the OPCO's
    assert await tick(app.state.engine, date(2024, 10, 22)) == 1
    assert await tick(app.state.engine, date(2024, 11, 30)) == 0
    assert (await api.get(cid))["status"] == "refused"
    accepted = await api.accept(cid, on="2024-10-25")
    assert accepted["status"] == "accepted"
    assert await api.event_types(cid) == ["contract.signed", "contract.transmitted",
                                          "contract.funding_implicitly_rejected", "contract.funding_accepted"]


async def test_public_sector_silence_is_acceptance_and_extension_stops_the_clock(env):
    api, app, _ = env
    public = (await api.sign(employer={"siret": "12345678200010", "idcc": "1486", "public_sector": True}))["contract_id"]
    extended = (await api.sign())["contract_id"]
    for cid in (public, extended):
        await api.transmit(cid, on="2024-09-30")
    await api.command(extended, "decision", {"outcome": "instruction_extended", "notified_on": "2024-10-15"},
                      api.k.opco_x)
    assert await tick(app.state.engine, date(2024, 12, 1)) == 1
    assert await api.event_types(public) == ["contract.signed", "contract.transmitted",
                                             "contract.funding_implicitly_accepted"]
    assert (await api.get(public))["status"] == "accepted"
    assert await api.event_types(extended) == ["contract.signed", "contract.transmitted",
                                               "contract.instruction_extended"]


async def test_the_running_service_raises_deadlines_on_its_own(env):
    api, app, clock = env
    cid = (await api.sign(signed_on="2024-09-01", start_date="2024-09-02"))["contract_id"]
    clock.set(date(2024, 9, 20))

    async def overdue():
        return "contract.transmission_overdue" in await api.event_types(cid)
    await eventually(overdue, what="the scheduler worker to raise transmission_overdue")
    assert (await api.event_types(cid)).count("contract.transmission_overdue") == 1


async def test_a_command_on_a_contract_the_scheduler_is_raising_is_not_blocked_by_it(env, monkeypatch):
    """The scheduler has read two due deadlines; as it loads the first contract, an OPCO-side
    command with an Idempotency-Key (a transaction of its own) transmits that contract: it takes
    the contract's stream, then rewrites its deadlines. A scheduler that held the due rows would
    make it wait for the scheduler's commit while the scheduler waits for it (the deadlock seen
    under load); here it answers, and the scheduler finds the deadline no longer applies."""
    api, app, _ = env
    first, second = [(await api.sign(signed_on="2025-04-25", start_date="2025-04-30",
                                     planned_end_date="2026-08-31"))["contract_id"] for _ in range(2)]
    answered: list[int] = []

    class CommandMeanwhile(SqlContractStreams):
        async def load(self, contract_id):
            if not answered:
                answered.append(0)
                r = await asyncio.wait_for(api.c.post(
                    f"/v1/contracts/{contract_id}/transmission", json={"transmitted_on": "2025-05-08", "by": "cfa"},
                    headers={**Keys.header(api.k.cfa_a), "Idempotency-Key": "meanwhile"}), timeout=10)
                answered[0] = r.status_code
            return await super().load(contract_id)
    monkeypatch.setattr("services.contracts.adapters.sql_unit_of_work.SqlContractStreams", CommandMeanwhile)
    assert await tick(app.state.engine, date(2025, 5, 8)) == 1
    assert answered == [200]
    overdue = [cid for cid in (first, second)
               if "contract.transmission_overdue" in await api.event_types(cid)]
    transmitted = [cid for cid in (first, second) if "contract.transmitted" in await api.event_types(cid)]
    assert len(overdue) == len(transmitted) == 1 and overdue != transmitted
