"""A contract's funding, an apprentice's handover, an OPCO's commitments, against in-memory
ports: now from what the projection stored, as of a moment recomputed; the tenancy rule on each."""
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from kernel.errors import NotFound, Refused
from services.financing.application.apply_contract_events import apply_contract_events
from services.financing.application.claim_fee import FeeClaim, claim_fee
from services.financing.application.commitments import commitments
from services.financing.application.contract_funding import contract_funding
from services.financing.application.handover import handover
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import (AKTO, ATLAS, CFA_BY_SIRET, CFA_BY_UAI, OPS, OTHER_CFA, OTHER_CFA_SIRET,
                                        UAI, History)

TODAY = date(2025, 6, 1)
LATER = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)       # after every event, on TODAY
START, END = date(2024, 1, 1), date(2027, 12, 31)


@pytest.fixture
async def path():
    """c1 (ATLAS) accepted, ruptured with training continued, then c2 (AKTO) from 2025-03-10; the
    moment between the acceptance and the rupture; a meal claimed on c1."""
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.accepted("c1", "a1")], TODAY)
    moment = h.at
    await apply_contract_events(uow, [h.ruptured("c1", "a1"), *h.rehire("c1", "c2", "a1")], TODAY)
    uow.now = datetime(2025, 5, 1, tzinfo=timezone.utc)
    await claim_fee(uow, CFA_BY_UAI, FeeClaim("c1", "meal", date(2025, 1, 10), 2), TODAY)
    return uow, moment


async def test_the_funding_now_is_read_from_the_projection_and_equals_the_recomputed_one(path):
    uow, _ = path
    loads = uow.referential.loads
    now = await contract_funding(uow, CFA_BY_UAI, "c1", TODAY, None)
    assert uow.referential.loads == loads                    # no referential read: the stored years
    assert now["total"] == "4666.67" and now["npec_source"] == "opco_decision" and now["status"] == "ruptured"
    assert now["spans"][0]["end"] == "2025-03-09" and now["spans"][0]["end_reason"] == "successor_signed"
    assert [f["kind"] for f in now["fees"]] == ["meal"] and any(a["fees"] for a in now["schedule"])
    recomputed = await contract_funding(uow, CFA_BY_UAI, "c1", TODAY, LATER)
    assert uow.referential.loads == loads + 1
    assert {**now, "as_of": LATER.isoformat()} == recomputed


async def test_years_stored_before_the_npec_source_was_kept_are_recomputed(path):
    uow, _ = path
    expected = await contract_funding(uow, OPS, "c2", TODAY, None)
    uow.tables.years = [replace(y, npec_source=None) for y in uow.tables.years]
    assert await contract_funding(uow, OPS, "c2", TODAY, None) == expected


async def test_as_of_answers_from_the_events_recorded_then(path):
    uow, moment = path
    past = await contract_funding(uow, CFA_BY_UAI, "c1", TODAY, moment)
    assert past["total"] == "16000.00" and past["status"] == "accepted" and past["fees"] == []
    with pytest.raises(NotFound):
        await contract_funding(uow, OPS, "c2", TODAY, moment)
    with pytest.raises(Refused) as caught:
        await contract_funding(uow, OPS, "c1", TODAY, datetime(2025, 6, 1))
    assert caught.value.code == "as-of-without-offset"


@pytest.mark.parametrize("principal, sees", [(CFA_BY_UAI, True), (CFA_BY_SIRET, True), (ATLAS, True), (OPS, True),
                                             (OTHER_CFA, False), (OTHER_CFA_SIRET, False), (AKTO, False)])
async def test_a_contracts_funding_follows_the_tenancy_rule(path, principal, sees):
    uow, _ = path
    if sees:
        assert (await contract_funding(uow, principal, "c1", TODAY, None))["contract_id"] == "c1"
    else:
        with pytest.raises(NotFound):
            await contract_funding(uow, principal, "c1", TODAY, None)
    with pytest.raises(NotFound):
        await contract_funding(uow, principal, "unknown", TODAY, None)


async def test_the_handover_follows_the_rehire_and_the_tenancy_rule(path):
    uow, moment = path
    body = await handover(uow, CFA_BY_SIRET, "a1", None)
    assert [(h["opco"], h["from"], h["to"]) for h in body["handover"]] == [
        ("ATLAS", "2024-09-01", "2025-03-09"), ("AKTO", "2025-03-10", "2026-08-31")]
    assert "rehired" in body["handover"][1]["reason"]
    assert [h["opco"] for h in (await handover(uow, ATLAS, "a1", moment))["handover"]] == ["ATLAS"]
    assert [h["opco"] for h in (await handover(uow, AKTO, "a1", None))["handover"]] == ["ATLAS", "AKTO"]
    with pytest.raises(NotFound):   # AKTO had no contract on this path then
        await handover(uow, AKTO, "a1", moment)
    for principal, apprentice in ((OTHER_CFA, "a1"), (OTHER_CFA_SIRET, "a1"), (OPS, "nobody")):
        with pytest.raises(NotFound):
            await handover(uow, principal, apprentice, None)


@pytest.mark.parametrize("principal, lines", [(CFA_BY_UAI, True), (CFA_BY_SIRET, True), (OPS, True),
                                              (AKTO, True), (OTHER_CFA, False), (OTHER_CFA_SIRET, False)])
async def test_commitment_lines_follow_the_tenancy_rule_now_and_as_of(path, principal, lines):
    uow, _ = path
    now = await commitments(uow, principal, "AKTO", START, END, None)
    then = await commitments(uow, principal, "AKTO", START, END, LATER)
    assert {**now, "as_of": LATER.isoformat()} == then
    if lines:
        assert now["total"] == "10800.00" and {c for m in now["months"] for c in m["by_cfa"]} == {UAI}
        assert sum(float(m["total"]) for m in now["months"]) == 10800.0
    else:
        assert now["months"] == [] and now["total"] == "0.00"


async def test_commitments_refuse_another_opco_and_a_reversed_period(path):
    uow, _ = path
    with pytest.raises(NotFound):
        await commitments(uow, ATLAS, "AKTO", START, END, None)
    with pytest.raises(Refused) as caught:
        await commitments(uow, OPS, "AKTO", END, START, None)
    assert caught.value.code == "invalid-period"



async def test_commitments_sum_per_month_of_due_date_within_the_period(path):
    uow, _ = path
    atlas = await commitments(uow, OPS, "ATLAS", START, END, None)   # 7 months: half on invoice, the rest at the end
    assert [(m["month"], m["by_cfa"]) for m in atlas["months"]] == [("2024-10", {UAI: "2333.34"}),
                                                                    ("2025-03", {UAI: "2333.33"})]
    assert atlas["total"] == "4666.67"
    march = await commitments(uow, OPS, "ATLAS", date(2025, 3, 1), date(2025, 3, 31), None)
    assert march["total"] == "2333.33" and march["from"] == "2025-03-01"
