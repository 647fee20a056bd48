"""Loading the NPEC referential as published, and the recomputation it triggers."""
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from operations.history_generator import generate
from services.financing.adapters.financing_projection import FinancingProjection
from services.financing.adapters.npec_file import NpecFileError, read_csv, read_xlsx
from services.financing.adapters.referential import SqlReferentialStore, load_referential
from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from services.financing.application.import_npec_referential import import_npec_referential
from services.financing.domain.npec import NpecFile
from shared.clock import FixedClock
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


async def test_the_links_are_read_again_as_soon_as_they_change(isolated):
    """The CPNE -> IDCC links are kept between batches and read again only when they change: an
    import is seen by the next statement after its commit (and in its own transaction), a write
    that keeps their number too (a link replaced by another), a rolled back one is not."""
    _, engine = isolated

    async def links():
        async with engine.connect() as conn:
            return (await load_referential(conn)).cpne_by_idcc
    assert await links() == {}
    async with engine.begin() as conn:
        await SqlReferentialStore(conn).add([], [{"cpne": "88", "idcc": "2216", "file_date": date(2024, 7, 1)}])
        assert (await load_referential(conn)).cpne_by_idcc == {"2216": {"88"}}
    assert await links() == {"2216": {"88"}}
    async with engine.begin() as conn:   # the same number of links, another set: an operator's fix
        await conn.execute(text("UPDATE financing.cpne_idcc SET cpne = '7' WHERE idcc = '2216'"))
    assert await links() == {"2216": {"7"}}
    async with engine.connect() as conn:
        await SqlReferentialStore(conn).add([], [{"cpne": "15", "idcc": "1979", "file_date": date(2024, 7, 1)}])
        assert (await load_referential(conn)).cpne_by_idcc == {"2216": {"7"}, "1979": {"15"}}
        await conn.rollback()
    assert await links() == {"2216": {"7"}}


async def test_a_batch_after_an_import_computes_with_the_imported_referential(isolated):
    """The import recomputes the paths it affects; the projection's next batch on such a path
    computes it again, with the links it imported (kept ones from before would undo the import)."""
    _, engine = isolated
    signed = next(a for a in generate(3, seed=5) if a.streams[0][2][0][0] == "contract.signed")
    cid, _, events = signed.streams[0]
    data = events[0][1]
    idcc, rncp = data["employer"]["idcc"], data["training"]["certification"]["rncp"]

    def event(kind, body, sequence):
        return {"id": str(uuid.uuid4()), "type": kind, "subject": cid, "sequence": str(sequence), "data": body,
                "partitionkey": signed.partition_key, "time": "2026-01-05T10:00:00+00:00"}

    async def source():
        async with engine.connect() as conn:
            return set((await conn.execute(text("SELECT npec_source FROM financing.lines"))).scalars())
    projection = FinancingProjection(FixedClock(date(2026, 1, 5)))
    async with engine.begin() as conn:
        await projection.apply(conn, [event("contract.signed", data, 1)])
    assert await source() == {"seed_value"}
    referential = NpecFile([{"rncp": rncp, "cpne": "88", "npec": Decimal("7777.00"), "applicable_from": date(2000, 1, 1),
                             "label": "x", "status": "CPNE"}], [{"cpne": "88", "idcc": idcc}])
    imported = await import_npec_referential(SqlUnitOfWork(engine), referential, date(2024, 7, 1), date(2026, 1, 5))
    assert imported["recomputed_paths"] == 1 and await source() == {"referential"}
    async with engine.begin() as conn:
        await projection.apply(conn, [event("contract.transmitted", {"transmitted_on": "2026-01-05"}, 2)])
    assert await source() == {"referential"}
