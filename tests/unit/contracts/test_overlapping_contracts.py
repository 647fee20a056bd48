"""One apprentice, one contract at a time (overlapping_contract, L6221-1): the rule at its
boundaries, then the sign handler on the fakes, and two signatures racing for one apprentice."""
import asyncio
from datetime import date

import pytest

from kernel.errors import Refused
from services.contracts.application.sign import sign_contract
from services.contracts.domain.rules import Context, Occupied, References, check_contract, occupied
from kernel.reference.tables import idcc_opco, remuneration_grid, smic_history
from tests.unit.contracts.fakes import FakeUnitOfWork, Tables
from tests.unit.contracts.given import CFA, OTHER_CFA, OTHER_UAI, contract, step, terms

REFS = References(idcc_opco(), smic_history(), remuneration_grid())
OTHER = Occupied("c-other", date(2023, 9, 1), date(2024, 9, 27))   # the day before terms()'s start


def overlaps(ctx: Context, **over) -> list:
    return [v for v in check_contract(terms(**over), REFS, ctx)[1] if v.code == "overlapping_contract"]


# -- the rule -------------------------------------------------------------------------------------
def test_a_contract_ending_the_day_before_the_start_does_not_overlap():
    assert overlaps(Context(occupied=(OTHER,))) == []


def test_a_contract_ending_on_the_start_day_overlaps_named_with_its_dates():
    (v,) = overlaps(Context(occupied=(Occupied("c-other", date(2023, 9, 1), date(2024, 9, 28)),)))
    assert v.as_dict() == {"field": "apprentice.id", "code": "overlapping_contract", "article": "L6221-1",
                           "message": "The apprentice is already under contract c-other from 2023-09-01 to "
                                      "2024-09-28: a second contract cannot cover the same days."}


@pytest.mark.parametrize("start, end, overlapping", [
    ("2025-10-04", "2026-10-03", False),     # starts the day after the new contract's planned end
    ("2025-10-03", "2026-10-03", True),      # starts on its last day
    ("2024-10-01", "2025-03-01", True),      # inside it
    ("2023-01-01", "2027-01-01", True),      # around it
])
def test_the_other_contracts_days_against_the_new_ones(start, end, overlapping):
    other = Occupied("c-other", date.fromisoformat(start), date.fromisoformat(end))
    assert bool(overlaps(Context(occupied=(other,)))) is overlapping


def test_every_overlapping_contract_is_named_and_the_other_failures_come_with_them():
    ctx = Context(occupied=(Occupied("c-1", date(2024, 1, 1), date(2024, 12, 31)),
                            Occupied(None, date(2025, 1, 1), date(2025, 12, 31))))
    codes = [v.code for v in check_contract(terms(planned_end_date="2030-01-01"), REFS, ctx)[1]]
    assert codes == ["duration_too_long", "overlapping_contract", "overlapping_contract"]
    assert "another CFA's contract from 2025-01-01" in overlaps(ctx)[1].message


def state(status: str, **more) -> dict:
    return {"status": status, "terms": {"contract": {"start_date": "2024-09-02", "planned_end_date": "2026-08-31"}},
            **more}


@pytest.mark.parametrize("s, days", [
    (state("signed"), (date(2024, 9, 2), date(2026, 8, 31))),
    (state("deposited"), (date(2024, 9, 2), date(2026, 8, 31))),
    (state("ruptured", ruptured_on="2025-01-15", continues_training=True), (date(2024, 9, 2), date(2025, 1, 15))),
    (state("completed", ended_on="2026-06-30"), (date(2024, 9, 2), date(2026, 6, 30))),
    (state("ruptured", ruptured_on="2024-09-01"), None),    # ruptured the day before its start
    (state("cancelled", ended_on="2024-08-30"), None),
    (state("refused"), None),
])
def test_the_days_a_contract_holds_its_apprentice(s, days):
    held = occupied("c", s)
    assert (held and (held.start, held.end)) == days


# -- the handler ----------------------------------------------------------------------------------
@pytest.fixture
def uow():
    return FakeUnitOfWork()


async def test_a_second_contract_over_the_same_days_is_refused_and_nothing_is_written(uow):
    first = await contract(uow, "transmission")
    before = len(uow.tables.streams)
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, terms(signed_on="2025-01-10", start_date="2025-02-01",
                                       planned_end_date="2026-01-31"), CFA)
    assert caught.value.code == "contract-rules" and caught.value.detail == "1 rule(s) failed."
    assert caught.value.errors == [{
        "field": "apprentice.id", "code": "overlapping_contract", "article": "L6221-1",
        "message": f"The apprentice is already under contract {first} from 2024-09-28 to 2025-10-03: a second "
                   "contract cannot cover the same days."}]
    assert len(uow.tables.streams) == before and uow.commits == 2


async def test_another_cfas_contract_is_not_named(uow):
    await sign_contract(uow, terms(cfa={"uai": OTHER_UAI}), OTHER_CFA)
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, terms(), CFA)
    assert caught.value.errors[0]["message"].startswith(
        "The apprentice is already under another CFA's contract from 2024-09-28 to 2025-10-03")


async def test_the_day_after_the_others_planned_end_and_another_apprentice_are_free(uow):
    await contract(uow)
    await sign_contract(uow, terms(apprentice={"id": "app-2", "birth_date": "2005-03-14"}), CFA)
    nxt = await sign_contract(uow, terms(signed_on="2025-09-01", start_date="2025-10-04",
                                         planned_end_date="2026-10-03"), CFA)
    assert nxt.status == "signed" and len(uow.tables.streams) == 3


async def test_a_cancelled_contract_holds_no_day(uow):
    await contract(uow, "cancellation")
    assert (await sign_contract(uow, terms(), CFA)).status == "signed"


async def test_after_a_rupture_a_contract_may_start_the_next_day_not_on_the_rupture_day(uow):
    previous = await contract(uow, "transmission", "rupture")     # ruptured on 2025-01-15, trains on
    on_the_day = terms(contract_type="23", previous_contract_id=previous, signed_on="2025-01-10",
                       start_date="2025-01-15", planned_end_date="2025-12-31")
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, on_the_day, CFA)
    assert [e["code"] for e in caught.value.errors] == ["overlapping_contract"]
    successor = await sign_contract(uow, terms(**{**on_the_day.model_dump(mode="json", exclude_none=True),
                                                  "start_date": "2025-01-16"}), CFA)
    assert uow.tables.views[previous].state["successor_contract_id"] == successor.contract_id


async def test_a_completed_contract_holds_its_days_up_to_its_end(uow):
    first = await contract(uow, "transmission")
    await step(uow, first, "completion", ended_on="2025-06-30")
    with pytest.raises(Refused):
        await sign_contract(uow, terms(contract_type="21", previous_contract_id=first, signed_on="2025-06-01",
                                       start_date="2025-06-30", planned_end_date="2026-06-29"), CFA)
    assert (await sign_contract(uow, terms(contract_type="21", previous_contract_id=first, signed_on="2025-06-01",
                                           start_date="2025-07-01", planned_end_date="2026-06-30"), CFA)).status \
        == "signed"


async def test_two_signatures_for_one_apprentice_at_once_one_passes_the_other_sees_it():
    tables = Tables()
    first, second = FakeUnitOfWork(tables), FakeUnitOfWork(tables)
    first.contracts.meanwhile.append(lambda: asyncio.sleep(0))    # the first yields between read and append
    results = await asyncio.gather(sign_contract(first, terms(), CFA), sign_contract(second, terms(), CFA),
                                   return_exceptions=True)
    assert results[0].status == "signed"
    assert isinstance(results[1], Refused) and [e["code"] for e in results[1].errors] == ["overlapping_contract"]
    assert results[0].contract_id in results[1].errors[0]["message"]
    assert (first.commits, second.commits) == (1, 0)
    assert not any(lock.locked() for lock in tables.apprentice_locks.values())
    # (the tables themselves are not asserted: a fake unit left without commit puts back the tables
    # it found on entry, which here predate the first unit's commit)
