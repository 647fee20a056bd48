"""Loading the NPEC referential as published, and the recomputation it triggers."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.financing.adapters.npec_file import NpecFileError, read_csv, read_xlsx
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

H = Keys.header
SAMPLE = Path(__file__).resolve().parents[2] / "kernel" / "reference" / "npec_sample"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(npec_header=("RNCP", "Libellé de la formation", "Code CPNE", "CPNE", "NPEC final", "Statut",
                          "Date d'applicabilité")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "référentiel NPEC"
    ws.append(["Référentiel des niveaux de prise en charge"])  # a title row above the header, as published
    ws.append(list(npec_header))
    row = {"RNCP": "RNCP36392", "Libellé de la formation": "TP développeur web", "Code CPNE": 7,
           "CPNE": "BET", "NPEC final": "8 600,00", "Statut": "CPNE", "Date d'applicabilité": "15/07/2024"}
    ws.append([row.get(h) for h in npec_header])
    cp = wb.create_sheet("CPNE-IDCC")
    cp.append(["Code CPNE", "CPNE", "IDCC"])
    cp.append([7, "BET", 1486])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_published_layouts_are_read():
    parsed = read_xlsx(workbook())
    assert parsed.npec[0]["npec"] == 8600 and parsed.npec[0]["cpne"] == "7"
    assert str(parsed.npec[0]["applicable_from"]) == "2024-07-15" and parsed.cpne_idcc == [{"cpne": "7", "idcc": "1486"}]
    csv = read_csv((SAMPLE / "referentiel_npec.csv").read_text(), (SAMPLE / "cpne_idcc.csv").read_text())
    assert len(csv.npec) == 9 and len(csv.cpne_idcc) == 5


def test_a_missing_column_is_named():
    with pytest.raises(NpecFileError, match="NPEC final"):
        read_xlsx(workbook(npec_header=("RNCP", "Code CPNE", "Date d'applicabilité")))
    with pytest.raises(NpecFileError, match="IDCC"):
        read_csv((SAMPLE / "referentiel_npec.csv").read_text(), "Code CPNE,CPNE\n7,BET\n")


async def test_put_the_referential_then_the_funding_follows_it(contracts, financing, keys):
    api = ContractsApi(contracts, keys)
    # IDCC 2216 (OPCOMMERCE) belongs to CPNE 88: RNCP35185 is 7200 from 2024-07-15 in the sample
    cid = (await api.sign(apprentice={"id": "app-npec", "birth_date": "2004-01-01"},
                          employer={"siret": "12345678200010", "idcc": "2216"},
                          start_date="2024-09-28", planned_end_date="2025-09-27"))["contract_id"]

    async def total(expected):
        r = await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.ops))
        return r.status_code == 200 and r.json()["total"] == expected and r.json()
    seeded = await eventually(lambda: total("6000.00"), what="the valeur d'amorçage before any referential")
    assert seeded["npec_source"] == "seed_value"

    assert (await financing.put("/v1/financing/referential/npec", content=workbook(),
                                headers={**H(keys.cfa_a), "content-type": XLSX})).status_code == 403
    bad = await financing.put("/v1/financing/referential/npec",
                              content=workbook(npec_header=("RNCP", "Code CPNE", "Date d'applicabilité")),
                              headers={**H(keys.ops), "content-type": XLSX})
    assert bad.status_code == 422 and "NPEC final" in bad.json()["detail"]

    body = {"referentiel_npec_csv": (SAMPLE / "referentiel_npec.csv").read_text(),
            "cpne_idcc_csv": (SAMPLE / "cpne_idcc.csv").read_text(), "file_date": "2024-07-01"}
    r = await financing.put("/v1/financing/referential/npec", json=body, headers=H(keys.ops))
    assert r.status_code == 200, r.text
    assert r.json()["npec_rows"] == 9 and r.json()["recomputed_paths"] >= 1
    after = (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.ops))).json()
    assert after["total"] == "7200.00" and after["npec_source"] == "referential"
    commitments = (await financing.get("/v1/financing/opcos/OPCOMMERCE/commitments?from=2024-01-01&to=2026-12-31",
                                       headers=H(keys.ops))).json()
    assert commitments["total"] == "7200.00"

    xlsx = await financing.put("/v1/financing/referential/npec", content=workbook(),
                               headers={**H(keys.ops), "content-type": XLSX})
    assert xlsx.status_code == 200 and xlsx.json()["npec_rows"] == 1


def test_the_cli_imports_the_csv_exports(settings):
    env = {**os.environ, "PARCOURS_DATABASE_URL": settings.database_url}
    args = [sys.executable, "-m", "operations.cli", "financing", "import-npec"]
    ok = subprocess.run(args + [str(SAMPLE / "referentiel_npec.csv"), "--cpne-idcc", str(SAMPLE / "cpne_idcc.csv")],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.strip().splitlines()[-1])["npec_rows"] == 9
    missing = subprocess.run(args + [str(SAMPLE / "cpne_idcc.csv"), "--cpne-idcc", str(SAMPLE / "cpne_idcc.csv")],
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "RNCP" in missing.stderr
