"""Issue 13, defect 9: a French CFA's pages are French throughout. The dashboard (after login),
the council minutes and the audit pack's pages are rendered with every section filled (incidents
signalled and not, open complaints in each status, a late measure, financer coverage, ruptures
with their reasons, absenteeism, suggestions, a planned and a held council), and none of the
English words the pages used to show may remain in what a reader sees. The CFA is one of this
test's own, with French data, so the only English could come from the pages themselves."""
import io
import re
import zipfile
from datetime import date
from html.parser import HTMLParser

import httpx
import pytest

from shared.auth import create_key
from shared.clock import FixedClock
from tests.support import Keys, contract_terms, eventually, fresh_uai

H = Keys.header

# Every English word the pages showed before they were translated (issue 13, defect 9), the
# enum values among them (the JSON keeps those values; the pages give their French label).
ENGLISH = set("""
    complaints complaint late measures measure log out kind report age subject status owner due last
    appraisal appraisals coverage covered gap signalled not no none planned yet rate by cohort cohorts hours group
    suggested next harassment violence held attendees decisions minutes period to be presented agenda data open
    financer financers received acknowledged answered closed in_progress done abandoned absenteeism absences over
    contracts apprentice employer hazards hazard the of and unknown this key revoked measures_open teaching_team
    within after days reasons rehired months median training mutual_agreement apprentice_resignation
    """.split())


class Visible(HTMLParser):
    """What a reader sees: text outside <style> and <script> (and JSON data), and the labels
    read aloud or shown on hover."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.hidden += 1
        self.parts += [v for k, v in attrs if k in ("aria-label", "title", "alt", "placeholder") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def english_words(html: str) -> list[str]:
    return sorted({w for w in re.findall(r"[a-z_]+", visible(html).lower()) if w in ENGLISH})


def assert_french(name: str, html: str, *expected: str):
    assert re.search(r"<html lang=\"?fr\"?>", html), name
    assert english_words(html) == [], (name, english_words(html), visible(html))
    text = visible(html)
    for phrase in expected:
        assert phrase in text, (name, phrase, text)


@pytest.fixture
def summer_2025(quality):
    """The quality app's clock on 2025-07-01 for this test: the contracts below are then the
    last 12 months' (their OPCO shows in the coverage), whatever the real date."""
    state = quality.app.state
    real, state.clock = state.clock, FixedClock(date(2025, 7, 1))
    yield
    state.clock = real


async def test_the_dashboard_the_minutes_and_the_audit_pack_are_french(contracts, quality, engine, summer_2025):
    uai = fresh_uai()
    async with engine.begin() as conn:
        key = (await create_key(conn, "cfa", uai, label="pages en français"))[1]

    async def post(client, path, body, expect=201):
        r = await client.post(path, json=body, headers=H(key))
        assert r.status_code == expect, (path, r.text)
        return r.json()

    # five contracts of the CFA, two ruptured: a rupture rate of 40 % suggests a measure
    apprentices = [f"app-fr-{uai}-{i}" for i in range(5)]
    ids = [(await post(contracts, "/v1/contracts", contract_terms(
        apprentice={"id": a, "birth_date": "2005-03-14"}, cfa={"uai": uai, "siret": "98765432400019"},
        certification={"rncp": "RNCP35185", "level": 5})))["contract_id"] for a in apprentices]
    for cid, reason in ((ids[0], "mutual_agreement"), (ids[1], "apprentice_resignation")):
        await post(contracts, f"/v1/contracts/{cid}/rupture", {"ruptured_on": "2025-01-15", "reason": reason,
                                                               "initiator": "both", "continues_training": False}, 200)

    old = await post(quality, "/v1/quality/incidents", {
        "occurred_on": "2025-01-06", "kind": "harassment", "apprentice_id": apprentices[2],
        "description": "Propos déplacés répétés", "reported_by": "Référente"})
    await post(quality, f"/v1/quality/incidents/{old['id']}/report",
               {"reported_on": "2025-01-07", "to": "Inspection du travail"}, 200)
    await post(quality, "/v1/quality/incidents", {"occurred_on": "2025-04-03", "kind": "violence",
                                                  "apprentice_id": apprentices[3], "description": "Coup reçu",
                                                  "reported_by": "Référente"})
    complaint = {"received_on": "2025-03-02", "from": "company", "channel": "phone", "subject": "Rencontre tuteur",
                 "description": "Aucune rencontre ce trimestre."}
    for steps in ([], ["acknowledged"], ["answered"], ["closed"]):
        c = await post(quality, "/v1/quality/complaints", complaint)
        for step in steps:
            await post(quality, f"/v1/quality/complaints/{c['id']}/steps",
                       {"step": step, "on": "2025-03-04", "by": "Responsable qualité"}, 200)
    await post(quality, "/v1/quality/measures", {"origin": "complaint", "title": "Planifier les rencontres",
                                                 "owner": "Direction", "due_on": "2025-05-31",
                                                 "opened_on": "2025-03-05"})
    await post(quality, "/v1/quality/hazards", {"occurred_on": "2025-02-11", "kind": "hazard",
                                                "description": "Formateur absent", "recorded_by": "Direction"})
    await post(quality, "/v1/quality/appraisals", {"stakeholder": "teaching_team", "kind": "survey", "score": "4",
                                                   "scale_max": "5", "recorded_on": "2025-06-10"})
    await post(quality, "/v1/quality/absences/bulk", {"absences": [
        {"erp_record_id": f"fr-{i}", "apprentice_id": apprentices[4], "group": "BTS-MCO-1" if i else None,
         "day": f"2025-02-{10 + i:02d}", "hours": "8", "justified": False} for i in range(12)]})
    held = await post(quality, "/v1/quality/councils", {"planned_on": "2025-06-20", "period_from": "2024-09-01",
                                                        "period_to": "2025-06-15", "title": "Conseil 2025"})
    await post(quality, f"/v1/quality/councils/{held['id']}/minutes",
               {"held_on": "2025-06-20", "attendees": ["Direction", "Représentant des employeurs"],
                "decisions": ["Ouvrir un second créneau de tutorat"], "minutes": "Le conseil a examiné l'année."}, 200)
    await post(quality, "/v1/quality/councils", {"planned_on": "2099-06-20", "period_from": "2025-06-16",
                                                 "period_to": "2099-06-15"})

    async def analysed():
        board = (await quality.get("/v1/quality/dashboard", headers=H(key))).json()
        rows = board["ruptures"]["certification"]
        return rows and rows[0]["contracts"] == 5 and rows[0]["ruptures"] == 2 and board
    board = await eventually(analysed, what="the CFA's contract events in the quality service")
    # the JSON keeps its values (and its English wording of suggestions)
    assert board["incidents"][0]["kind"] == "violence" and "harassment" in [i["kind"] for i in board["incidents"]]
    assert {"origin": "rupture_analysis", "about": "certification RNCP35185",
            "reason": "rupture rate 40 % over 5 contracts"} in board["suggestions"]
    assert any(s["origin"] == "absenteeism_analysis" for s in board["suggestions"])

    # the dashboard, after logging in (a client of its own: the session cookie stays in it)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quality.app), base_url="http://test") as browser:
        refused = await browser.post("/login", data={"key": "pas-une-clé"})
        assert refused.status_code == 401
        assert_french("login refused", refused.text, "Se connecter", "Cette clé est inconnue")
        logged = await browser.post("/login", data={"key": key})
        assert logged.status_code == 303 and logged.headers["location"] == "/dashboard"
        page = await browser.get("/dashboard")
        assert page.status_code == 200
    assert_french("dashboard", page.text, "Tableau de bord qualité", "Situation au 01/07/2025", "Se déconnecter", "Réclamations",
                  "Mesures en retard", "harcèlement", "violences", "NON SIGNALÉ", "signalé", "réception accusée",
                  "réponse apportée", "reçue", "Planifier les rencontres", "31/05/2025", "NON COUVERT",
                  "Taux de rupture par certification", "Heures d'absence par groupe", "sans groupe", "absentéisme",
                  "certification RNCP35185 : taux de rupture de 40 % sur 5 contrats",
                  f"apprenti {apprentices[4]} : absent", "Prochain conseil de perfectionnement", "20/06/2099")

    minutes = await quality.get(f"/v1/quality/councils/{held['id']}/minutes.html", headers=H(key))
    assert minutes.status_code == 200
    assert_french("minutes", minutes.text, "Ordre du jour", "Tenu le 20/06/2025", "Participants",
                  "Décisions", "Compte rendu", "Ouvrir un second créneau de tutorat", "démission de l'apprenti",
                  "rupture d'un commun accord", "(à présenter en séance)", "Taux de rupture : 40,0 %",
                  "Appréciations de l'équipe pédagogique : 1")
    assert minutes.text.count("<li><strong>") == 8

    pack = await quality.get("/v1/quality/audit-pack?from=2024-09-01&to=2099-12-31", headers=H(key))
    assert pack.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(pack.content))
    pages = [n for n in z.namelist() if n.endswith(".html")]
    assert sorted(pages) == sorted(["dashboard.html"] + [n for n in z.namelist() if n.startswith("council_")])
    assert len(pages) == 3
    for name in pages:
        assert_french(name, z.read(name).decode(), "CFA")
    assert "Pas encore tenu." in visible(z.read(next(n for n in pages if n.startswith("council_")
                                                       and held["id"] not in n)).decode())


def test_the_word_check_catches_the_english_pages():
    """The check itself: the pages as they were (issue 13) would fail it."""
    before = ("<!doctype html><html lang=fr><head><style>th{color:red}</style></head><body><h1>Tableau de bord "
              "qualité</h1><button>Log out</button><h2>Complaints</h2><td>NOT SIGNALLED</td><td>harassment</td>"
              "<svg aria-label='Rupture rate by certification (%)'></svg></body></html>")
    assert set(english_words(before)) == {"log", "out", "complaints", "not", "signalled", "harassment", "rate", "by"}
