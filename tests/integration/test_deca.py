"""The DECA exchange over HTTP and from the CLI, on real PostgreSQL (a database of its own):
contracts signed, transmitted, accepted, deposited, amended and ruptured through the API, then a
DECA extract in JSON and in CSV, every disagreement code, the tenancy (ops every contract, an
OPCO its own, a CFA 403), a malformed extract's coded 422, the export's shape; and
`parcours ops reconcile-deca` on a file."""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, isolated_contracts

H = Keys.header
SIRET, OTHER_SIRET = "12345678200010", "73282932000009"


@pytest.fixture
async def world():
    """Eight contracts, each set up for one answer of the reconciliation (by its start date)."""
    async with isolated_contracts() as (client, app, keys, url, _):
        api = ContractsApi(client, keys)
        ids = {}

        async def deposited(name, start, number, opco_key=None, **over):
            cid = (await api.sign(start_date=start, **over))["contract_id"]
            await api.transmit(cid)
            await api.accept(cid, key=opco_key)
            await api.deposit(cid, key=opco_key, number=number)
            ids[name] = cid
            return cid

        await deposited("agrees", "2024-09-21", "075202410000001")
        await deposited("rupture_missing", "2024-09-22", "075202410000002")
        await api.rupture(await deposited("rupture_date", "2024-09-23", "075202410000003"), on="2025-01-15")
        await deposited("cancelled", "2024-09-24", "075202410000004")
        await deposited("renumbered", "2024-09-25", "075202410000005")
        await deposited("idcc", "2024-09-26", "075202410000006")
        cid = await deposited("amended", "2024-09-27", "075202410000007")
        await api.command(cid, "amendments", {"effective_on": "2025-06-01", "amendment_type": "33",
                                              "changes": {"planned_end_date": "2026-01-31"}}, keys.cfa_a)
        await deposited("absent", "2024-09-28", "075202410000008")
        await deposited("akto", "2024-09-28", "075202410000009", opco_key=keys.opco_y,
                        employer={"siret": OTHER_SIRET, "idcc": "573"})
        yield client, keys, ids, url


def contrat(no, start, statut="", rupture=None, avenant=None, idcc="1486", siret=SIRET):
    c = {"detailsContrat": {"noContrat": no, "statut": statut, "noAvenant": avenant, "dateEffetAvenant": None,
                            "dateDebutContrat": start, "dateFinContrat": "2025-10-03"},
         "employeur": {"siret": siret, "codeIdcc": idcc},
         "organismeFormationResponsable": {"uaiCfa": "0751234J", "siret": "98765432400019"},
         "formation": {"rncp": "RNCP35185"},
         "alternant": {"nom": "DUPONT", "prenom": "Léa"}}
    if rupture:
        c["rupture"] = {"dateEffetRupture": rupture}
    return c


CONTRATS = [
    contrat("075202410000001", "2024-09-21"),
    contrat("075202410000002", "2024-09-22", "Rompu", "2025-02-03"),
    contrat("075202410000003", "2024-09-23", "Rompu", "2025-01-31"),
    contrat("075202410000004", "2024-09-24", "Annulé"),
    contrat("075202499999995", "2024-09-25"),
    contrat("075202410000006", "2024-09-26", idcc="3043"),
    contrat("075202410000007", "2024-09-27", avenant="2"),
    contrat("075202499999999", "2024-09-30", siret="44306184100047"),
    contrat("075202410000009", "2024-09-28", siret=OTHER_SIRET, idcc="573"),
]
# two pages, as DECA serves them
EXTRACT = [{"metadonnees": {"page": 1, "totalPages": 2, "totalElements": 9}, "contrats": CONTRATS[:5]},
           {"metadonnees": {"page": 2, "totalPages": 2, "totalElements": 9}, "contrats": CONTRATS[5:]}]


def expected(ids):
    """(contract id, our deposit number, DECA's number, codes), in the report's order."""
    return [
        (ids["rupture_missing"], "075202410000002", "075202410000002", ["rupture_not_declared"]),
        (ids["rupture_date"], "075202410000003", "075202410000003", ["rupture_date_differs"]),
        (ids["cancelled"], "075202410000004", "075202410000004", ["cancelled_in_deca"]),
        (ids["idcc"], "075202410000006", "075202410000006", ["idcc_differs"]),
        (ids["amended"], "075202410000007", "075202410000007", ["amendment_missing"]),
        (ids["absent"], "075202410000008", None, ["not_in_deca"]),
        (ids["renumbered"], "075202410000005", "075202499999995", ["deposit_number_differs"]),
        (None, None, "075202499999999", ["unknown_to_parcours"]),
    ]


def summary(report):
    return [(c["contract_id"], c["deposit_number"], c["no_contrat"], [d["code"] for d in c["disagreements"]])
            for c in report["contracts"]]


async def test_an_extract_in_json_lists_every_disagreement_per_contract(world):
    client, keys, ids, _ = world
    r = await client.post("/v1/deca/reconciliations", json=EXTRACT, headers=H(keys.ops))
    assert r.status_code == 200, r.text
    report = r.json()
    assert summary(report) == expected(ids)
    assert (report["complete"], report["in_extract"], report["compared"], report["matched"]) == (True, 9, 9, 8)
    by_code = {d["code"]: d for c in report["contracts"] for d in c["disagreements"]}
    assert (by_code["rupture_date_differs"]["parcours"], by_code["rupture_date_differs"]["deca"]) == \
        ("2025-01-15", "2025-01-31")
    assert (by_code["deposit_number_differs"]["parcours"], by_code["deposit_number_differs"]["deca"]) == \
        ("075202410000005", "075202499999995")
    assert (by_code["amendment_missing"]["parcours"], by_code["amendment_missing"]["deca"]) == ("1", "2")
    assert (by_code["idcc_differs"]["parcours"], by_code["idcc_differs"]["deca"]) == ("1486", "3043")

    partial = await client.post("/v1/deca/reconciliations", json=EXTRACT[0], headers=H(keys.ops))
    assert partial.json()["complete"] is False      # page 1 of 2: not_in_deca is not checked
    assert "not_in_deca" not in {d["code"] for c in partial.json()["contracts"] for d in c["disagreements"]}
    told = await client.post("/v1/deca/reconciliations?complete=true", json=EXTRACT[0], headers=H(keys.ops))
    assert told.json()["complete"] is True and "not_in_deca" in json.dumps(told.json())


def as_csv(contrats) -> str:
    columns = ["detailsContrat.noContrat", "detailsContrat.statut", "detailsContrat.noAvenant",
               "detailsContrat.dateDebutContrat", "rupture.dateEffetRupture", "employeur.siret",
               "employeur.codeIdcc", "alternant.nom"]
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow(columns)
    for c in contrats:
        d = c["detailsContrat"]
        w.writerow([d["noContrat"], d["statut"], d["noAvenant"] or "", d["dateDebutContrat"],
                    (c.get("rupture") or {}).get("dateEffetRupture", ""), c["employeur"]["siret"],
                    c["employeur"]["codeIdcc"], c["alternant"]["nom"]])
    return out.getvalue()


async def test_an_extract_in_csv_answers_the_same_in_json_and_in_csv(world):
    client, keys, ids, _ = world
    body = as_csv(CONTRATS).encode()
    r = await client.post("/v1/deca/reconciliations", content=body,
                          headers={**H(keys.ops), "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert summary(r.json()) == expected(ids)
    r = await client.post("/v1/deca/reconciliations", content=body,
                          headers={**H(keys.ops), "Content-Type": "text/csv; charset=utf-8", "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["contract_id"] or None, row["code"]) for row in rows] == \
        [(cid, codes[0]) for cid, _, _, codes in expected(ids)]


async def test_an_opco_compares_the_contracts_it_funds_and_a_cfa_is_refused(world):
    client, keys, ids, _ = world
    atlas = (await client.post("/v1/deca/reconciliations", json=EXTRACT, headers=H(keys.opco_x))).json()
    # AKTO's contract is not ATLAS's to see: unknown to this key, like a contract of no one here
    unknown = (None, None, "075202410000009", ["unknown_to_parcours"])
    assert summary(atlas) == expected(ids)[:6] + [unknown] + expected(ids)[6:]
    assert (atlas["compared"], atlas["matched"]) == (8, 7)
    akto = (await client.post("/v1/deca/reconciliations", json=EXTRACT, headers=H(keys.opco_y))).json()
    assert akto["compared"] == 1 and akto["matched"] == 1
    # ATLAS's contracts are unknown to AKTO's key: nothing of them is shown but DECA's own numbers
    assert {c["contract_id"] for c in akto["contracts"]} == {None}
    assert all(c["disagreements"][0]["code"] in ("unknown_to_parcours", "deposit_number_differs")
               for c in akto["contracts"])
    assert ids["akto"] not in json.dumps(akto["contracts"])
    for key in (keys.cfa_a, keys.cfa_b):
        r = await client.post("/v1/deca/reconciliations", json=EXTRACT, headers=H(key))
        assert r.status_code == 403 and r.json()["type"] == "urn:parcours:problem:forbidden-role"
        r = await client.get("/v1/deca/contracts", headers=H(key))
        assert r.status_code == 403 and r.json()["type"] == "urn:parcours:problem:forbidden-role"
    assert (await client.post("/v1/deca/reconciliations", json=EXTRACT)).status_code == 401


async def test_a_malformed_extract_answers_a_coded_422(world):
    client, keys, _, _ = world
    bad = {"contrats": [{"detailsContrat": {"statut": "Résilié", "noContrat": "N1"}},
                        {"detailsContrat": {"dateDebutContrat": "2024-09-28"}}]}
    r = await client.post("/v1/deca/reconciliations", json=bad, headers=H(keys.ops))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "urn:parcours:problem:invalid-deca-extract"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("body.contrats[0].detailsContrat.statut", "invalid_statut"),
        ("body.contrats[1].detailsContrat.noContrat", "missing_no_contrat")]
    r = await client.post("/v1/deca/reconciliations", content=b"detailsContrat.statut\nRompu\n",
                          headers={**H(keys.ops), "Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "missing_column"
    r = await client.post("/v1/deca/reconciliations", content=b"<xml/>",
                          headers={**H(keys.ops), "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = await client.post("/v1/deca/reconciliations?sort=asc", json=EXTRACT, headers=H(keys.ops))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_parameter"


async def test_the_export_is_in_decas_shape_without_personal_data(world):
    client, keys, ids, _ = world
    r = await client.get("/v1/deca/contracts?page=1&size=4", headers=H(keys.ops))
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["metadonnees"] == {"page": 1, "totalPages": 3, "totalElements": 9}
    assert [c["detailsContrat"]["noContrat"] for c in first["contrats"]] == [f"07520241000000{n}" for n in range(1, 5)]
    ruptured = first["contrats"][2]
    assert ruptured == {
        "detailsContrat": {"noContrat": "075202410000003", "statut": "Rompu", "noAvenant": None,
                           "dateDebutContrat": "2024-09-23", "dateFinContrat": "2025-10-03"},
        "employeur": {"siret": SIRET, "codeIdcc": "1486"},
        "organismeFormationResponsable": {"uaiCfa": "0751234J", "siret": "98765432400019"},
        "rupture": {"dateEffetRupture": "2025-01-15"}}
    pages = [first] + [(await client.get(f"/v1/deca/contracts?page={n}&size=4", headers=H(keys.ops))).json()
                       for n in (2, 3)]
    assert sum(len(p["contrats"]) for p in pages) == 9
    assert all(set(c) <= {"detailsContrat", "employeur", "organismeFormationResponsable", "rupture"}
               for p in pages for c in p["contrats"])
    for cid in ids.values():     # neither our ids nor the apprentice's pseudonym leave in the export
        assert cid not in json.dumps(pages)
    # the export is what we hold: reconciled with the log, nothing to say
    again = (await client.post("/v1/deca/reconciliations", json=pages, headers=H(keys.ops))).json()
    assert again["contracts"] == [] and again["matched"] == 9
    assert (await client.get("/v1/deca/contracts", headers=H(keys.opco_y))).json()["metadonnees"]["totalElements"] == 1
    beyond = (await client.get("/v1/deca/contracts?page=9&size=4", headers=H(keys.ops))).json()
    assert beyond["contrats"] == [] and beyond["metadonnees"]["totalElements"] == 9
    assert (await client.get("/v1/deca/contracts?size=501", headers=H(keys.ops))).status_code == 422


def reconcile_cli(url, *args):
    env = {**os.environ, "PARCOURS_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "operations.cli", "ops", "reconcile-deca", *args],
                          env=env, capture_output=True, text=True, timeout=120)


async def test_the_cli_reconciles_a_file(world, tmp_path):
    _, _, ids, url = world
    extract = tmp_path / "deca.json"
    extract.write_text(json.dumps(EXTRACT), encoding="utf-8")
    done = reconcile_cli(url, str(extract))
    assert done.returncode == 1, done.stderr          # 1: they disagree
    assert summary(json.loads(done.stdout)) == expected(ids)
    assert json.loads(done.stderr.strip().splitlines()[-1])["disagreements"] == 8

    as_file = tmp_path / "deca.csv"
    as_file.write_text(as_csv(CONTRATS), encoding="utf-8")
    out = tmp_path / "report.csv"
    done = reconcile_cli(url, str(as_file), "--format", "csv", "--out", str(out))
    assert done.returncode == 1 and done.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["code"] for row in rows] == [codes[0] for *_, codes in expected(ids)]

    done = reconcile_cli(url, str(extract), "--opco", "AKTO", "--partial")
    assert done.returncode == 1 and json.loads(done.stdout)["compared"] == 1

    bad = tmp_path / "bad.json"
    bad.write_text('{"contrats": [{"detailsContrat": {"statut": "Rompu"}}]}', encoding="utf-8")
    done = reconcile_cli(url, str(bad))
    assert done.returncode == 2 and "missing_no_contrat" in done.stderr
