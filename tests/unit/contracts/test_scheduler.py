"""The deadline scheduler against the in-memory unit of work: each event raised once, on the day
after the last day; a deadline that no longer applies is dropped; batches; a contract changed
meanwhile is left for the next tick."""
from datetime import date

import pytest

from services.contracts.application.scheduler import raise_due_deadlines
from tests.unit.contracts.fakes import FakeContractStreams, FakeUnitOfWork
from tests.unit.contracts.given import contract


@pytest.fixture
def uow():
    return FakeUnitOfWork()


def tick(uow, today: date, batch: int = 200):
    return raise_due_deadlines(lambda: uow, today, batch)


def types(uow, cid) -> list[str]:
    return [e.type for e in uow.tables.streams[cid]]


async def test_transmission_overdue_is_raised_once_the_day_after_the_fifth_working_day(uow):
    cid = await contract(uow)   # starts Saturday 2024-09-28: the 5th jour ouvrable after is 2024-10-04
    assert await tick(uow, date(2024, 10, 4)) == 0
    assert await tick(uow, date(2024, 10, 5)) == 1
    last = uow.tables.streams[cid][-1]
    assert (last.type, last.data, last.metadata["actor"]) == (
        "contract.transmission_overdue", {"contract_id": cid, "deadline_on": "2024-10-04"}, "scheduler")
    assert await tick(uow, date(2024, 12, 1)) == 0 and (cid, "transmission") not in uow.tables.deadlines


@pytest.mark.parametrize("public_sector, event_type", [(False, "contract.funding_implicitly_rejected"),
                                                       (True, "contract.funding_implicitly_accepted")])
async def test_the_funders_silence_decides_after_20_days(uow, public_sector, event_type):
    employer = {"siret": "12345678200010", "idcc": "1486", "public_sector": public_sector}
    cid = await contract(uow, "transmission", employer=employer)   # file complete on 2024-09-30
    assert await tick(uow, date(2024, 10, 20)) == 0
    assert await tick(uow, date(2024, 10, 21)) == 1
    assert types(uow, cid)[-1] == event_type and uow.tables.views[cid].state["funding"] is not None


async def test_a_deadline_that_no_longer_applies_is_dropped_without_an_event(uow):
    cid = await contract(uow)
    uow.tables.deadlines[(cid, "decision")] = date(2024, 9, 1)   # left by an older state
    assert await tick(uow, date(2024, 10, 1)) == 0
    assert (cid, "decision") not in uow.tables.deadlines and types(uow, cid) == ["contract.signed"]


async def test_due_deadlines_are_taken_batch_after_batch(uow):
    cids = [await contract(uow, apprentice={"id": f"app-{i}", "birth_date": "2005-03-14"}) for i in range(5)]
    assert await tick(uow, date(2024, 10, 5), batch=2) == 5
    assert all(types(uow, cid)[-1] == "contract.transmission_overdue" for cid in cids)


async def test_a_contract_changed_meanwhile_is_left_for_the_next_tick(uow):
    cid = await contract(uow)

    async def another_writer():
        streams = FakeContractStreams(uow.tables)
        state = await streams.load(cid)
        await streams.record([(state, [("contract.amended", {"contract_id": cid, "effective_on": "2024-10-01",
                                                             "amendment_type": "36", "changes": {}})])], "other")
    uow.contracts.meanwhile.append(another_writer)
    assert await tick(uow, date(2024, 10, 5)) == 0
    assert await tick(uow, date(2024, 10, 5)) == 1
    assert types(uow, cid) == ["contract.signed", "contract.amended", "contract.transmission_overdue"]
