"""The board against in-memory ports (docs/quality.md, *Dashboard*): what needs attention first,
then the figures; the JSON's part of it; a council's agenda over its period; the audit pack's
period."""
from datetime import date

import pytest

from kernel.errors import Forbidden, NotFound, Refused
from services.quality.application.absences import record_absences
from services.quality.application.apply_contract_events import apply_contract_events
from services.quality.application.board_queries import audit_board, council_minutes, show_board
from services.quality.application.dashboard import INTERNAL, public
from services.quality.application.recording import create_record, take_step
from services.quality.domain import records as r
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import BODIES, CFA, OPCO, OTHER_CFA, OTHER_UAI, TODAY, Contracts


async def record(uow, collection, principal=CFA, **over):
    return await create_record(uow, principal, collection, BODIES[collection].model_copy(update=over), TODAY)


@pytest.fixture
async def uow():
    unit, c = FakeUnitOfWork(), Contracts()
    # five contracts of the CFA with ATLAS, two ruptured; one of another CFA
    await apply_contract_events(unit, [c.signed(f"c{i}") for i in range(5)] + [
        c.ruptured("c0", "2024-10-01"), c.ruptured("c1", "2025-03-01", "apprentice_resignation"),
        c.signed("x", uai=OTHER_UAI, opco="AKTO"), c.ruptured("x", "2024-09-10")])
    old = await record(unit, "incidents", occurred_on=date(2025, 1, 6), kind="violence")
    await take_step(unit, CFA, "incidents", "report", old["id"],
                    r.IncidentReport(reported_on="2025-01-07", to="Police"), TODAY)
    await record(unit, "incidents", occurred_on=date(2025, 4, 3))
    await record(unit, "incidents", occurred_on=date(2025, 2, 3))
    for day, step in ((2, None), (10, "acknowledged"), (20, "closed")):
        done = await record(unit, "complaints", received_on=date(2025, 3, day), subject=f"S{day}")
        if step:
            await take_step(unit, CFA, "complaints", step, done["id"],
                            r.ComplaintStep(step=step, on=f"2025-03-{day}", by="QL"), TODAY)
    await record(unit, "measures", due_on=date(2025, 6, 30))                    # late
    await record(unit, "measures", due_on=date(2025, 7, 1), origin="control_finding")   # due today: not late
    await record(unit, "hazards")
    await record(unit, "appraisals", stakeholder="teaching_team", financer=None)
    await record(unit, "appraisals", stakeholder="company", financer=None, recorded_on=date(2024, 5, 1))
    await record(unit, "councils", planned_on=date(2099, 6, 20))
    await record(unit, "councils", planned_on=date(2026, 6, 20))
    await record(unit, "hazards", principal=OTHER_CFA)
    await record_absences(unit, CFA, r.AbsenceBatch(absences=[
        r.Absence(erp_record_id=f"e{i}", apprentice_id="app-c2", group="G1" if i % 2 else None,
                  day=f"2025-02-{10 + i}", hours="8", justified=False) for i in range(12)]), TODAY)
    return unit


async def test_what_needs_attention_comes_first(uow):
    board = await show_board(uow, CFA, TODAY)
    assert [(i["occurred_on"], i["signalled"], i["age_days"]) for i in board["incidents"]] == [
        ("2025-02-03", False, 148), ("2025-04-03", False, 89), ("2025-01-06", True, 176)]
    assert board["complaints"]["by_status"] == {"received": 1, "acknowledged": 1, "closed": 1}
    assert [(c["subject"], c["status"], c["age_days"]) for c in board["complaints"]["open"]] == [
        ("S2", "received", 121), ("S10", "acknowledged", 113)]
    assert board["measures"]["by_status"] == {"open": 2}
    assert [m["due_on"] for m in board["measures"]["late"]] == ["2025-06-30"]
    assert set(board["measures"]["late"][0]) == {"id", "title", "owner", "due_on"}


async def test_the_figures(uow):
    board = await show_board(uow, CFA, TODAY)
    assert (board["cfa"], board["today"], board["period"]) == (CFA.org, "2025-07-01", {"from": None, "to": None})
    assert board["hazards"] == 1
    assert board["appraisals"] == {"count": 2, "by_stakeholder": {"company": 1, "teaching_team": 1}}
    assert board["appraisal_coverage"]["gaps"] == ["ATLAS"]
    (row,) = board["ruptures"]["certification"]
    assert (row["contracts"], row["ruptures"], row["rate"], row["within_45_days"]) == (5, 2, "0.400", 1)
    assert board["rupture_rate"] == "0.400"
    (apprentice,) = board["absenteeism"]["apprentices"]
    assert (apprentice["hours"], apprentice["planned_hours"], apprentice["over_threshold"]) == ("96.00", "800", True)
    assert [s["origin"] for s in board["suggestions"]] == ["rupture_analysis", "rupture_analysis",
                                                           "absenteeism_analysis"]
    assert board["next_council"]["planned_on"] == "2026-06-20"


async def test_the_json_leaves_out_what_only_the_pages_use(uow):
    board = await show_board(uow, CFA, TODAY)
    assert set(board) - set(public(board)) == set(INTERNAL)
    assert [list(public(board))] == [["cfa", "today", "period", "incidents", "complaints", "measures", "hazards",
                                      "appraisals", "appraisal_coverage", "ruptures", "rupture_rate", "absenteeism",
                                      "suggestions", "next_council", "webhooks"]]


async def test_a_period_filters_records_and_absences_not_ruptures(uow):
    board = await show_board(uow, CFA, TODAY, date(2025, 3, 1), date(2025, 3, 15))
    assert board["period"] == {"from": "2025-03-01", "to": "2025-03-15"}
    assert board["incidents"] == [] and board["complaints"]["by_status"] == {"received": 1, "acknowledged": 1}
    assert board["absenteeism"]["apprentices"] == [] and board["next_council"] is None
    assert board["ruptures"]["certification"][0]["contracts"] == 5


async def test_an_empty_board():
    board = await show_board(FakeUnitOfWork(), CFA, TODAY)
    assert board["rupture_rate"] is None and board["suggestions"] == [] and board["incidents"] == []
    assert board["ruptures"] == {"certification": [], "employer": [], "cohort": []}


async def test_the_board_is_a_cfas(uow):
    with pytest.raises(Forbidden):
        await show_board(uow, OPCO, TODAY)
    other = await show_board(uow, OTHER_CFA, TODAY)
    assert (other["cfa"], other["hazards"], other["incidents"]) == (OTHER_CFA.org, 1, [])
    assert [(r["contracts"], r["ruptures"]) for r in other["ruptures"]["cohort"]] == [(1, 1)]   # x, signed there


async def test_a_councils_agenda_has_the_eight_items_of_r6231_4_over_its_period(uow):
    council = await record(uow, "councils", period_from=date(2025, 3, 1), period_to=date(2025, 3, 31))
    shown, agenda = await council_minutes(uow, CFA, council["id"], TODAY)
    assert shown == {**council, "cfa": CFA.org}
    assert [item["item"] for item in agenda] == ["pedagogical_project", "reception_support", "training_organisation",
                                                 "trainers_preparation", "company_relations", "conventions",
                                                 "investments", "published_information"]
    evidence = {item["item"]: item["evidence"] for item in agenda}
    assert evidence["pedagogical_project"] == {"appraisals": 0, "measures_open": 2}
    assert evidence["reception_support"] == {"incidents": 0, "complaints": {"received": 1, "acknowledged": 1,
                                                                           "closed": 1},
                                             "absenteeism_over_threshold": 0}
    assert evidence["published_information"] == {"rupture_rate": "0.400", "control_findings": 1}
    assert evidence["conventions"] == {} and evidence["investments"] == {}


async def test_minutes_are_of_the_cfas_own_council(uow):
    complaint = (await show_board(uow, CFA, TODAY))["records"]["complaint"][0]
    council = (await show_board(uow, CFA, TODAY))["records"]["council"][0]
    for principal, record_id in ((CFA, complaint["id"]), (OTHER_CFA, council["id"]), (CFA, "nope")):
        with pytest.raises(NotFound) as caught:
            await council_minutes(uow, principal, record_id, TODAY)
        assert caught.value.detail == "No such council."


async def test_the_audit_pack_needs_a_period_in_order(uow):
    with pytest.raises(Refused) as caught:
        await audit_board(uow, CFA, date(2025, 9, 1), date(2025, 1, 31), TODAY)
    assert (caught.value.code, caught.value.title, caught.value.detail) == (
        "invalid-period", "Invalid period", "'to' is before 'from'.")
    board = await audit_board(uow, CFA, date(2025, 1, 1), date(2025, 1, 31), TODAY)
    assert [i["occurred_on"] for i in board["records"]["incident"]] == ["2025-01-06"]


async def test_the_board_shows_the_cfas_webhook_endpoints_and_the_page_flags_a_failing_one():
    from datetime import datetime, timezone

    from services.quality.api.pages import dashboard as page
    from services.quality.application.unit_of_work import EndpointHealth

    unit = FakeUnitOfWork()
    late = datetime(2025, 6, 1, 8, 30, tzinfo=timezone.utc)
    unit.tables.webhooks = {
        CFA.org: [EndpointHealth("https://erp.example.fr/h", "ERP", "failing", 3, late, late, "timeout")],
        OTHER_UAI: [EndpointHealth("https://other.example.fr/h", "", "active", 0, None, None, None)]}
    board = await show_board(unit, CFA, TODAY)
    assert public(board)["webhooks"] == [{
        "url": "https://erp.example.fr/h", "description": "ERP", "status": "failing", "pending": 3,
        "oldest_pending_at": late.isoformat(), "last_attempt_at": late.isoformat(), "last_outcome": "timeout"}]
    html = page(board)
    assert "EN ÉCHEC" in html and "01/06/2025 10:30" in html and "sans réponse" in html
    assert "other.example.fr" not in html
