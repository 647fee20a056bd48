"""An apprentice's audit trail exported as of a past time shows the amounts known then."""
import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

from tests.integration.lifecycle_api import ContractsApi


def export(database_url, out, *args):
    env = {**os.environ, "PARCOURS_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "operations.cli", "ops", "audit-export", "--out", str(out), *args],
                          env=env, capture_output=True, text=True, timeout=120)


async def test_export_as_of_before_a_rupture(contracts, keys, settings, tmp_path):
    api = ContractsApi(contracts, keys)
    apprentice = {"id": "app-audit", "birth_date": "2005-03-14"}
    first = (await api.sign(apprentice=apprentice, signed_on="2024-08-26", start_date="2024-09-01",
                            planned_end_date="2026-08-31"))["contract_id"]
    await api.transmit(first, on="2024-09-02")
    await api.accept(first, level="8000.00")
    known_then = datetime.now(timezone.utc)
    await api.rupture(first, on="2025-01-15")
    second = (await api.sign(apprentice=apprentice, employer={"siret": "12345678200010", "idcc": "1979"},
                             signed_on="2025-03-10", start_date="2025-03-17", planned_end_date="2026-08-31",
                             contract_type="23", previous_contract_id=first))["contract_id"]

    then = export(settings.database_url, tmp_path / "then", "--apprentice", "app-audit", "--as-of", known_then.isoformat())
    assert then.returncode == 0, then.stderr
    manifest = json.loads((tmp_path / "then" / "manifest.json").read_text())
    for f in manifest["files"]:
        assert hashlib.sha256((tmp_path / "then" / f["file"]).read_bytes()).hexdigest() == f["sha256"]
    assert manifest["chain"] == "intact" and set(manifest["contracts"]) == {first, second}
    events = [json.loads(l) for l in (tmp_path / "then" / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events] == ["contract.signed", "contract.transmitted", "contract.funding_accepted"]
    projection = json.loads((tmp_path / "then" / "projection.json").read_text())
    assert projection["totals_by_opco"] == {"ATLAS": "16000.00"}  # two full years were expected then

    now = export(settings.database_url, tmp_path / "now", "--apprentice", "app-audit")
    assert now.returncode == 0, now.stderr
    current = json.loads((tmp_path / "now" / "projection.json").read_text())
    assert current["totals_by_opco"]["ATLAS"] == "4666.67"
    assert [h["opco"] for h in current["handover"]["app-audit"]] == ["ATLAS", "AKTO"]

    by_contract = export(settings.database_url, tmp_path / "one", "--contract", first)
    assert json.loads(by_contract.stdout)["contracts"] == 1
    bad = export(settings.database_url, tmp_path / "bad", "--contract", first, "--apprentice", "x")
    assert bad.returncode == 2
