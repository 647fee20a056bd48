"""Quality evidence through the API, analytics from contract events, dashboard, minutes, audit pack."""
import io
import json
import secrets
import zipfile
from datetime import date

import pytest

from shared.clock import FixedClock
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

H = Keys.header


async def post(client, path, body, key, expect=201):
    r = await client.post(path, json=body, headers=H(key))
    assert r.status_code == expect, (path, r.text)
    return r.json()


async def test_complaint_steps_in_order_and_coded_refusals(quality, keys):
    c = await post(quality, "/v1/quality/complaints", {"received_on": "2025-03-02", "from": "apprentice",
                                                       "channel": "email", "subject": "Planning",
                                                       "description": "Timetable changed without notice."}, keys.cfa_a)
    assert c["status"] == "received" and c["from"] == "apprentice"
    path = f"/v1/quality/complaints/{c['id']}/steps"
    early = await post(quality, path, {"step": "acknowledged", "on": "2025-03-01", "by": "QL"}, keys.cfa_a, 422)
    assert early["errors"][0]["code"] == "before_record"
    for step in ("acknowledged", "answered", "closed"):
        done = await post(quality, path, {"step": step, "on": "2025-03-05", "by": "Quality lead"}, keys.cfa_a, 200)
        assert done["status"] == step
    late = await post(quality, path, {"step": "answered", "on": "2025-03-06", "by": "QL"}, keys.cfa_a, 409)
    assert late["current_state"]["status"] == "closed"
    assert [h["event"] for h in done["history"]] == ["complaint.acknowledged", "complaint.answered", "complaint.closed"]
    assert (await quality.get(f"/v1/quality/complaints/{c['id']}", headers=H(keys.cfa_b))).status_code == 404
    assert (await quality.post("/v1/quality/complaints", json={}, headers=H(keys.opco_x))).status_code == 403
    bad = await post(quality, "/v1/quality/appraisals", {"stakeholder": "financer", "kind": "survey",
                                                         "recorded_on": "2025-01-01"}, keys.cfa_a, 422)
    assert bad["type"] == "urn:parcours:problem:validation-error"


async def test_measures_close_with_an_effectiveness_review(quality, keys):
    m = await post(quality, "/v1/quality/measures", {"origin": "control_finding", "title": "Fiche écart 3",
                                                     "owner": "Director", "due_on": "2025-01-31",
                                                     "opened_on": "2025-01-02"}, keys.cfa_a)
    path = f"/v1/quality/measures/{m['id']}/updates"
    await post(quality, path, {"status": "done", "on": "2025-01-20"}, keys.cfa_a, 422)
    await post(quality, path, {"status": "in_progress", "on": "2025-01-10", "note": "started"}, keys.cfa_a, 200)
    closed = await post(quality, path, {"status": "done", "on": "2025-01-20", "effectiveness_review": "Checked."},
                        keys.cfa_a, 200)
    assert closed["status"] == "done" and closed["history"][-1]["event"] == "measure.closed"


async def test_absences_are_idempotent_by_erp_record_id(quality, keys):
    batch = {"absences": [{"erp_record_id": f"erp-{i}", "apprentice_id": "app-abs", "group": "G1",
                           "day": f"2025-01-{10 + i}", "hours": "3.5", "justified": i % 2 == 0} for i in range(5)]}
    first = await post(quality, "/v1/quality/absences/bulk", batch, keys.cfa_a)
    assert first == {"recorded": 5, "already_recorded": 0, "duplicates_in_request": 0}
    again = await post(quality, "/v1/quality/absences/bulk", batch, keys.cfa_a, 200)
    assert again["recorded"] == 0 and again["already_recorded"] == 5
    one = await post(quality, "/v1/quality/absences", {**batch["absences"][0], "erp_record_id": "erp-new"}, keys.cfa_a)
    assert one["recorded"] == 1
    listed = (await quality.get("/v1/quality/absences?apprentice_id=app-abs", headers=H(keys.cfa_a))).json()["items"]
    assert len(listed) == 6


async def test_dashboard_analytics_from_contract_events(contracts, quality, keys):
    api = ContractsApi(contracts, keys)
    employer = {"siret": "12345678200010", "idcc": "1486"}
    ids = [(await api.sign(apprentice={"id": f"app-q{i}", "birth_date": "2005-03-14"}, employer=employer,
                           planned_end_date="2026-08-31",
                           certification={"rncp": "RNCP36392", "level": 5}))["contract_id"] for i in range(6)]
    await api.rupture(ids[0], on="2024-10-20", continues=True)        # within the 45 free days
    await api.rupture(ids[1], on="2025-03-01", continues=False)
    await post(quality, "/v1/quality/incidents", {"occurred_on": "2025-04-03", "kind": "violence",
                                                  "apprentice_id": "app-q2", "description": "Struck by a colleague",
                                                  "reported_by": "Referent"}, keys.cfa_a)
    await post(quality, "/v1/quality/appraisals", {"stakeholder": "financer", "financer": "AKTO", "kind": "webinar",
                                                   "recorded_on": quality.app.state.clock.today().isoformat()},
               keys.cfa_a)

    async def analysed():
        board = (await quality.get("/v1/quality/dashboard", headers=H(keys.cfa_a))).json()
        rows = [r for r in board["ruptures"]["certification"] if r["certification"] == "RNCP36392"]
        # every contract's events, not only the ruptures' (the partitions are consumed independently)
        return rows and rows[0]["ruptures"] == 2 and rows[0]["contracts"] == 6 and (board, rows[0])
    board, row = await eventually(analysed, what="rupture analytics from contract events")
    assert row["contracts"] == 6 and row["within_45_days"] == 1 and row["after_45_days"] == 1
    assert row["rate"] == "0.333" and {"about": "certification RNCP36392", "origin": "rupture_analysis",
                                       "reason": "rupture rate 33 % over 6 contracts"} in board["suggestions"]
    assert board["incidents"][0]["signalled"] is False  # unsignalled incidents come first
    assert "ATLAS" in board["appraisal_coverage"]["gaps"] and "AKTO" not in board["appraisal_coverage"]["gaps"]


async def test_council_minutes_and_audit_pack(quality, keys):
    council = await post(quality, "/v1/quality/councils", {"planned_on": "2025-06-20", "period_from": "2024-09-01",
                                                           "period_to": "2025-06-15", "title": "Conseil 2025"},
                         keys.cfa_a)
    await post(quality, f"/v1/quality/councils/{council['id']}/minutes",
               {"held_on": "2025-06-20", "attendees": ["Director", "Employers' representative"],
                "decisions": ["Open a tutoring slot"], "minutes": "The council reviewed the year."}, keys.cfa_a, 200)
    page = await quality.get(f"/v1/quality/councils/{council['id']}/minutes.html", headers=H(keys.cfa_a))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("<li><strong>") == 8 and "Open a tutoring slot" in page.text
    assert "L6111-8" in page.text and "L6232-1" in page.text

    r = await quality.get("/v1/quality/audit-pack?from=2024-09-01&to=2025-12-31", headers=H(keys.cfa_a))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    assert {"indicator_30_appraisals.json", "indicator_31_complaints_hazards_incidents.json",
            "indicator_32_improvement.json", "dashboard.html", "manifest.json"} <= names
    assert f"council_{council['id']}.html" in names
    manifest = json.loads(z.read("manifest.json"))
    assert {f["file"] for f in manifest["files"]} == names - {"manifest.json"}


# Dates (issue 13, defect 8): a year 0104 or 3873 is a typing error (date_out_of_range, for every
# date); a date of something that already happened may not pass today by the app's clock
# (date_in_future). The clock is fixed here at a day the real calendar has passed, so a refusal
# can only come from the injected clock.
TODAY, TOMORROW = date(2025, 6, 30), date(2025, 7, 1)
ABSENCE = {"apprentice_id": "app-dates", "group": "G1", "hours": "2", "justified": False}


@pytest.fixture
def fixed_today(quality):
    """The session's quality app with its clock at TODAY for one test (monkeypatch cannot restore
    an attribute of starlette's State)."""
    state = quality.app.state
    real, state.clock = state.clock, FixedClock(TODAY)
    yield TODAY
    state.clock = real


def _erp() -> str:
    return f"erp-{secrets.token_hex(6)}"


# (what, path or None for a step, body with the date under test as {d}, the field as the errors name it)
CREATIONS = [
    ("appraisal", "/v1/quality/appraisals", lambda d: {"stakeholder": "apprentice", "kind": "survey", "score": "4",
                                                       "scale_max": "5", "recorded_on": d}, "recorded_on"),
    ("complaint", "/v1/quality/complaints", lambda d: {"received_on": d, "from": "company", "channel": "phone",
                                                       "subject": "Dates", "description": "Tested."}, "received_on"),
    ("hazard", "/v1/quality/hazards", lambda d: {"occurred_on": d, "kind": "hazard", "description": "Tested.",
                                                 "recorded_by": "QL"}, "occurred_on"),
    ("incident", "/v1/quality/incidents", lambda d: {"occurred_on": d, "kind": "harassment", "apprentice_id": "app-d",
                                                     "description": "Tested.", "reported_by": "QL"}, "occurred_on"),
    ("measure", "/v1/quality/measures", lambda d: {"origin": "hazard", "title": "Dates", "owner": "QL",
                                                   "due_on": "2025-12-31", "opened_on": d}, "opened_on"),
    ("absence", "/v1/quality/absences", lambda d: {**ABSENCE, "erp_record_id": _erp(), "day": d}, "day"),
    ("absences in bulk", "/v1/quality/absences/bulk",
     lambda d: {"absences": [{**ABSENCE, "erp_record_id": _erp(), "day": "2025-06-02"},
                             {**ABSENCE, "erp_record_id": _erp(), "day": d}]}, "absences.1.day"),
]
# (the record to step on, its step path, body, field)
STEPS = [
    ("complaints", "steps", lambda d: {"step": "acknowledged", "on": d, "by": "QL"}, "on"),
    ("incidents", "report", lambda d: {"reported_on": d, "to": "Procureur de la République"}, "reported_on"),
    ("measures", "updates", lambda d: {"status": "in_progress", "on": d}, "on"),
    ("councils", "minutes", lambda d: {"held_on": d, "attendees": ["Direction"], "minutes": "Tenu."}, "held_on"),
]
PARENTS = {"complaints": CREATIONS[1][2]("2025-06-01"), "incidents": CREATIONS[3][2]("2025-06-01"),
           "measures": CREATIONS[4][2]("2025-06-01"),
           "councils": {"planned_on": "2025-06-01", "period_from": "2024-09-01", "period_to": "2025-05-31"}}


async def refused(client, path, body, key, field, code):
    p = await post(client, path, body, key, 422)
    assert p["type"] == "urn:parcours:problem:validation-error", p
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in p["errors"]], p
    return p


async def _dates_checked(quality, key, path, body, field, expect):
    for year in ("0104", "3873"):
        await refused(quality, path, body(f"{year}-06-30"), key, field, "date_out_of_range")
    await refused(quality, path, body(TOMORROW.isoformat()), key, field, "date_in_future")
    return await post(quality, path, body(TODAY.isoformat()), key, expect)


@pytest.mark.parametrize("what,path,body,field", CREATIONS, ids=[c[0] for c in CREATIONS])
async def test_a_record_of_what_happened_is_dated_today_at_the_latest(quality, keys, fixed_today, what, path, body,
                                                                      field):
    await _dates_checked(quality, keys.cfa_a, path, body, field, 201)


@pytest.mark.parametrize("collection,step,body,field", STEPS, ids=[f"{s[0]}/{s[1]}" for s in STEPS])
async def test_a_step_is_dated_today_at_the_latest(quality, keys, fixed_today, collection, step, body, field):
    parent = await post(quality, f"/v1/quality/{collection}", PARENTS[collection], keys.cfa_a)
    done = await _dates_checked(quality, keys.cfa_a, f"/v1/quality/{collection}/{parent['id']}/{step}", body, field,
                                200)
    assert done["history"][-1][field] == TODAY.isoformat()


async def test_plans_may_lie_ahead_within_the_plausible_range(quality, keys, fixed_today):
    """A measure's deadline and a council's day and period are plans: ahead is fine, 3873 is not."""
    measure = CREATIONS[4][2](TODAY.isoformat())
    await post(quality, "/v1/quality/measures", {**measure, "due_on": "2026-01-31"}, keys.cfa_a)
    await refused(quality, "/v1/quality/measures", {**measure, "due_on": "3873-01-31"}, keys.cfa_a, "due_on",
                  "date_out_of_range")
    council = {"planned_on": "2025-12-10", "period_from": "2025-01-01", "period_to": "2025-11-30"}
    await post(quality, "/v1/quality/councils", council, keys.cfa_a)
    for field in council:
        for year in ("0104", "3873"):
            await refused(quality, "/v1/quality/councils", {**council, field: f"{year}-12-10"}, keys.cfa_a, field,
                          "date_out_of_range")


async def test_every_future_date_is_listed_and_nothing_is_written(quality, keys, fixed_today):
    later = [{**ABSENCE, "erp_record_id": _erp(), "day": d} for d in ("2025-06-29", "2025-07-01", "2025-08-15")]
    p = await refused(quality, "/v1/quality/absences/bulk", {"absences": later}, keys.cfa_a, "absences.1.day",
                      "date_in_future")
    assert [(e["field"], e["code"]) for e in p["errors"]] == [("absences.1.day", "date_in_future"),
                                                              ("absences.2.day", "date_in_future")]
    listed = (await quality.get("/v1/quality/absences?apprentice_id=app-dates&from=2025-06-29&to=2025-06-29",
                                headers=H(keys.cfa_a))).json()["items"]
    assert [a for a in listed if a["erp_record_id"] == later[0]["erp_record_id"]] == []


# Control characters: none in a Line (identifiers, codes, names), tab and line breaks only in Prose.
async def test_control_characters_are_refused_where_a_line_is_expected(quality, keys):
    complaint = {"received_on": "2025-03-02", "from": "apprentice", "channel": "email", "subject": "Planning",
                 "description": "Le planning a changé\nsans prévenir.\tDeux fois."}
    kept = await post(quality, "/v1/quality/complaints", complaint, keys.cfa_a)
    assert kept["description"] == complaint["description"]
    await refused(quality, "/v1/quality/complaints", {**complaint, "description": "Le planning\u0000"}, keys.cfa_a,
                  "description", "control_character")
    await refused(quality, "/v1/quality/complaints", {**complaint, "subject": "Plan\nning"}, keys.cfa_a,
                  "subject", "control_character")
    incident = CREATIONS[3][2]("2025-04-03")
    await refused(quality, "/v1/quality/incidents", {**incident, "apprentice_id": "app\n1"}, keys.cfa_a,
                  "apprentice_id", "control_character")
    await refused(quality, "/v1/quality/absences", {**ABSENCE, "erp_record_id": "erp\n1", "day": "2025-01-13"},
                  keys.cfa_a, "erp_record_id", "control_character")
