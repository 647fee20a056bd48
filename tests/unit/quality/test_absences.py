"""Absences from the ERP against in-memory ports: idempotent by ERP record id (a known one is
neither recorded again nor changed), one event per new absence, a batch with a future day
refused whole."""
from decimal import Decimal

import pytest

from kernel.errors import Forbidden, Refused
from services.quality.application.absences import list_absences, record_absences
from services.quality.domain import records as r
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import CFA, OPCO, OTHER_CFA, TODAY


def absence(erp: str, day: str = "2025-01-13", apprentice: str = "app-1", hours: str = "3.5", **over) -> r.Absence:
    return r.Absence(**{"erp_record_id": erp, "apprentice_id": apprentice, "group": "G1", "day": day,
                        "hours": hours, "justified": False, **over})


def batch(*items: r.Absence) -> r.AbsenceBatch:
    return r.AbsenceBatch(absences=list(items))


@pytest.fixture
def uow():
    return FakeUnitOfWork()


async def test_a_batch_is_recorded_once_by_erp_record_id(uow):
    first = batch(*(absence(f"erp-{i}", f"2025-01-{10 + i}") for i in range(5)))
    assert await record_absences(uow, CFA, first, TODAY) == {"recorded": 5, "already_recorded": 0,
                                                             "duplicates_in_request": 0}
    assert await record_absences(uow, CFA, first, TODAY) == {"recorded": 0, "already_recorded": 5,
                                                             "duplicates_in_request": 0}
    assert len(uow.tables.absences) == 5 and len(uow.tables.events) == 5


async def test_known_new_and_repeated_records_are_counted_apart(uow):
    await record_absences(uow, CFA, absence("erp-1"), TODAY)
    mixed = batch(absence("erp-1", hours="8"), absence("erp-2"), absence("erp-2", hours="2"), absence("erp-3"))
    assert await record_absences(uow, CFA, mixed, TODAY) == {"recorded": 2, "already_recorded": 1,
                                                             "duplicates_in_request": 1}
    assert uow.tables.absences[(CFA.org, "erp-1")].hours == Decimal("3.50")      # not changed
    assert uow.tables.absences[(CFA.org, "erp-2")].hours == Decimal("2.00")      # the last of the request


async def test_each_new_absence_is_an_event_of_its_own_stream(uow):
    await record_absences(uow, CFA, batch(absence("erp-1"), absence("erp-2", justified=True)), TODAY)
    assert [(e.stream, e.version, e.type) for e in uow.tables.events] == [
        (f"absence-{CFA.org}-erp-1", 1, "absence.recorded"), (f"absence-{CFA.org}-erp-2", 1, "absence.recorded")]
    assert uow.tables.events[1].data == {"cfa": CFA.org, "erp_record_id": "erp-2", "apprentice_id": "app-1",
                                         "group": "G1", "day": "2025-01-13", "hours": "3.5", "justified": True}
    assert uow.tables.events[1].metadata == {"partitionkey": CFA.org, "actor": "k-cfa"}


async def test_another_cfa_may_use_the_same_erp_record_id(uow):
    await record_absences(uow, CFA, absence("erp-1"), TODAY)
    assert (await record_absences(uow, OTHER_CFA, absence("erp-1"), TODAY))["recorded"] == 1


async def test_a_future_day_refuses_the_whole_batch_listing_every_one(uow):
    later = batch(absence("erp-1", "2025-06-29"), absence("erp-2", "2025-07-02"), absence("erp-3", "2025-08-15"))
    with pytest.raises(Refused) as caught:
        await record_absences(uow, CFA, later, TODAY)
    assert [(e["field"], e["code"]) for e in caught.value.errors] == [("absences.1.day", "date_in_future"),
                                                                      ("absences.2.day", "date_in_future")]
    with pytest.raises(Refused) as caught:
        await record_absences(uow, CFA, absence("erp-4", "2025-07-02"), TODAY)
    assert caught.value.errors[0]["field"] == "day"
    assert uow.tables.absences == {} and uow.tables.events == []


async def test_absences_are_a_cfas_own(uow):
    with pytest.raises(Forbidden):
        await record_absences(uow, OPCO, absence("erp-1"), TODAY)
    with pytest.raises(Forbidden):
        await list_absences(uow, OPCO, None, None, None, 10)


async def test_the_list_filters_orders_and_formats(uow):
    await record_absences(uow, CFA, batch(absence("b", "2025-01-14"), absence("a", "2025-01-14", group=None),
                                          absence("c", "2025-01-10", apprentice="app-2", hours="7"),
                                          absence("d", "2025-01-20")), TODAY)
    await record_absences(uow, OTHER_CFA, absence("z", "2025-01-14"), TODAY)
    listed = await list_absences(uow, CFA, None, None, None, 1000)
    assert [a["erp_record_id"] for a in listed["items"]] == ["c", "a", "b", "d"]
    assert listed["items"][0] == {"erp_record_id": "c", "apprentice_id": "app-2", "group": "G1", "day": "2025-01-10",
                                  "hours": "7.00", "justified": False}
    assert listed["items"][1]["group"] is None
    some = await list_absences(uow, CFA, "app-1", TODAY.replace(month=1, day=11), TODAY.replace(month=1, day=19), 1)
    assert [a["erp_record_id"] for a in some["items"]] == ["a"]
