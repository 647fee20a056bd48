"""The projection's handler on a batch of contract events, against in-memory ports."""
from datetime import date
from decimal import Decimal

import pytest

from services.financing.application.apply_contract_events import apply_contract_events
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import SIRET, UAI, History

TODAY = date(2025, 6, 1)


def amounts(uow, cid):
    return [y.amount for y in sorted(uow.tables.years, key=lambda y: y.funding_year) if y.contract_id == cid]


async def test_signed_then_accepted_stores_the_events_the_summary_and_the_funding():
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.accepted("c1", "a1")], TODAY)
    assert [e.type for e in uow.tables.events] == ["contract.signed", "contract.funding_accepted"]
    summary = uow.tables.contracts["c1"]
    assert (summary.status, summary.version, summary.cfa_uai, summary.cfa_siret, summary.regime) == (
        "accepted", 2, UAI, SIRET, "R2019")
    assert amounts(uow, "c1") == [Decimal("8000.00"), Decimal("8000.00")]
    assert {y.npec_source for y in uow.tables.years} == {"opco_decision"}
    first_year = [a for a in uow.tables.advances if a.funding_year == 1]
    assert [a.advance for a in first_year] == [1, 2, 3] and sum(a.amount for a in first_year) == Decimal("8000.00")
    assert {(a.cfa_uai, a.cfa_siret, a.apprentice_id) for a in uow.tables.advances} == {(UAI, SIRET, "a1")}
    assert uow.commits == 1


async def test_signed_alone_is_funded_at_the_seed_value():
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1", end="2025-08-31")], TODAY)
    assert {y.npec_source for y in uow.tables.years} == {"seed_value"}
    assert uow.tables.contracts["c1"].status == "signed"


async def test_a_rupture_without_training_ends_the_funding():
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.accepted("c1", "a1")], TODAY)
    await apply_contract_events(uow, [h.ruptured("c1", "a1", continues=False)], TODAY)
    assert uow.tables.contracts["c1"].status == "ruptured"
    (year,) = [y for y in uow.tables.years if y.contract_id == "c1"]
    assert year.period_end == date(2025, 1, 15) and year.units == 5   # September to January, months started


async def test_a_rehire_cuts_the_first_contract_at_the_successor_signature():
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.accepted("c1", "a1")], TODAY)
    await apply_contract_events(uow, [h.ruptured("c1", "a1"), *h.rehire("c1", "c2", "a1")], TODAY)
    assert sum(amounts(uow, "c1")) == Decimal("4666.67")       # 7 months started of 8000
    assert sum(amounts(uow, "c2")) == Decimal("10800.00")      # 18 months started of 7200
    first = [y for y in uow.tables.years if y.contract_id == "c1"]
    assert first[-1].period_end == date(2025, 3, 9)
    assert {a.opco for a in uow.tables.advances if a.contract_id == "c2"} == {"AKTO"}


async def test_events_stored_already_are_skipped_and_change_nothing():
    uow, h = FakeUnitOfWork(), History()
    batch = [h.signed("c1", "a1"), h.accepted("c1", "a1")]
    await apply_contract_events(uow, batch + batch[1:], TODAY)    # a duplicate inside the batch
    before = (list(uow.tables.events), list(uow.tables.years), list(uow.tables.advances), dict(uow.tables.contracts))
    await apply_contract_events(uow, batch, TODAY)                 # redelivered
    assert (uow.tables.events, uow.tables.years, uow.tables.advances, uow.tables.contracts) == before
    assert len(uow.tables.events) == 2


async def test_a_late_status_does_not_overwrite_a_newer_one():
    uow, h = FakeUnitOfWork(), History()
    signed, accepted, ruptured = h.signed("c1", "a1"), h.accepted("c1", "a1"), h.ruptured("c1", "a1")
    await apply_contract_events(uow, [signed, ruptured], TODAY)
    await apply_contract_events(uow, [accepted], TODAY)
    assert (uow.tables.contracts["c1"].status, uow.tables.contracts["c1"].version) == ("ruptured", 3)


async def test_a_batch_without_contract_events_opens_no_unit():
    uow = FakeUnitOfWork()
    await apply_contract_events(uow, [{"id": "x", "type": "fees.claimed", "subject": "fees-a1", "data": {}}], TODAY)
    assert uow.commits == 0 and uow.tables.events == []


async def test_an_event_naming_no_apprentice_is_refused():
    h = History()
    event = h.event("transmitted", "c1", "a1")
    event.pop("partitionkey")
    with pytest.raises(ValueError, match="apprentice"):
        await apply_contract_events(FakeUnitOfWork(), [event], TODAY)


async def test_the_summary_is_keyed_by_the_stream_whatever_the_data_says():
    uow, h = FakeUnitOfWork(), History()
    copied = h.signed("c-erp", "a1")
    twin = h.signed("c-erp", "a1")
    twin["subject"] = "c-other"
    await apply_contract_events(uow, [copied, twin], TODAY)
    assert sorted(uow.tables.contracts) == ["c-erp", "c-other"]
