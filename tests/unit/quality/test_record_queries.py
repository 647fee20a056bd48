"""Reading records back: one (another CFA's is not found), a page after a cursor."""
import base64
from datetime import date

import pytest

from kernel.errors import NotFound, Refused
from services.quality.application.record_queries import get_record, list_records
from services.quality.application.recording import create_record, take_step
from services.quality.domain import records as r
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import BODIES, CFA, OTHER_CFA, TODAY


@pytest.fixture
async def uow():
    """Five complaints of the CFA (received 2025-03-01 to 03-05), one of another CFA, a hazard."""
    unit = FakeUnitOfWork()
    for day in range(1, 6):
        await create_record(unit, CFA, "complaints", BODIES["complaints"].model_copy(
            update={"received_on": date(2025, 3, day)}), TODAY)
    await create_record(unit, OTHER_CFA, "complaints", BODIES["complaints"], TODAY)
    await create_record(unit, CFA, "hazards", BODIES["hazards"], TODAY)
    return unit


async def test_pages_follow_each_other_by_date_then_id(uow):
    seen, cursor = [], None
    while True:
        page = await list_records(uow, CFA, "complaints", None, None, None, cursor, 2)
        seen += [c["received_on"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        day, rid = base64.urlsafe_b64decode(cursor).decode().split("|")
        assert day == page["items"][-1]["occurred_on"] and rid == page["items"][-1]["id"]
    assert seen == [f"2025-03-0{d}" for d in range(1, 6)]


async def test_the_list_filters_by_status_and_period(uow):
    first = (await list_records(uow, CFA, "complaints", None, None, None, None, 1))["items"][0]
    await take_step(uow, CFA, "complaints", "closed", first["id"],
                    r.ComplaintStep(step="closed", on="2025-03-02", by="QL"), TODAY)
    closed = await list_records(uow, CFA, "complaints", "closed", None, None, None, 100)
    assert [c["id"] for c in closed["items"]] == [first["id"]] and closed["next_cursor"] is None
    period = await list_records(uow, CFA, "complaints", None, date(2025, 3, 2), date(2025, 3, 4), None, 100)
    assert [c["received_on"] for c in period["items"]] == ["2025-03-02", "2025-03-03", "2025-03-04"]


@pytest.mark.parametrize("cursor", ["zzz", "YWJj", base64.urlsafe_b64encode(b"2025-13-01|x").decode()])
async def test_a_cursor_no_page_returned_is_refused(uow, cursor):
    with pytest.raises(Refused) as caught:
        await list_records(uow, CFA, "complaints", None, None, None, cursor, 2)
    assert (caught.value.code, caught.value.title, caught.value.detail) == (
        "invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.")


async def test_one_record_is_the_cfas_own_and_of_its_kind(uow):
    mine = (await list_records(uow, CFA, "complaints", None, None, None, None, 1))["items"][0]
    assert await get_record(uow, CFA, "complaints", mine["id"]) == mine
    for principal, collection in ((OTHER_CFA, "complaints"), (CFA, "hazards")):
        with pytest.raises(NotFound) as caught:
            await get_record(uow, principal, collection, mine["id"])
        assert caught.value.detail == f"No such {collection[:-1]}."
