"""Quality evidence through the API, analytics from contract events, dashboard, minutes, audit pack."""
import io
import json
import zipfile

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
        return rows and rows[0]["ruptures"] == 2 and (board, rows[0])
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
