"""The README's integrator example runs as written, against the suite's own services."""
import os
import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_integrator_example_runs_as_documented(served):
    text = README.read_text()
    script = re.search(r"<!-- integrator-example:start -->\s*```bash\n(.*?)```", text, re.S).group(1)
    env = {**os.environ, "KEY": served.keys.cfa_a, "BASE": served.urls["contracts"]}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "retry returned the first answer"
    assert lines[1] == "transmission: 200"
    assert '"type":"urn:parcours:problem:stale-version"' in lines[2] and '"current_version":2' in lines[2]
    assert '"code":"duration_too_short"' in lines[3] and '"article":"L6222-7-1"' in lines[3]


def test_the_cerfa_example_is_the_api_example_and_signs(served):
    import json

    import httpx

    from services.contracts.api.examples import SIGN_CERFA

    text = README.read_text()
    body = json.loads(re.search(r"<!-- cerfa-example:start -->\s*```json\n(.*?)```", text, re.S).group(1))
    assert body == SIGN_CERFA   # the README shows what the API documents
    auth = {"Authorization": f"Bearer {served.keys.cfa_a}"}
    signed = httpx.post(f"{served.urls['contracts']}/v1/contracts", json=body, headers=auth, timeout=30)
    assert signed.status_code == 201, signed.text
    cerfa = httpx.get(f"{served.urls['contracts']}/v1/contracts/{signed.json()['contract_id']}/cerfa",
                      headers=auth, timeout=30).json()
    assert cerfa["apprentice"]["nir"] == body["apprentice"]["nir"] and cerfa["opco"] == "ATLAS"
    assert cerfa["contract"]["pay"] == body["contract"]["pay"]


def test_the_invoices_example_runs_as_documented(served):
    """The CFA invoices, the OPCO accepts and pays: the account is settled (issue 16)."""
    text = README.read_text()
    script = re.search(r"<!-- invoices-example:start -->\s*```bash\n(.*?)```", text, re.S).group(1)
    env = {**os.environ, "KEY": served.keys.cfa_a, "OPCO_KEY": served.keys.opco_x,
           "BASE": served.urls["contracts"], "FIN": served.urls["financing"]}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert re.fullmatch(r"invoiceable: [1-9]\d* advances of the contract", lines[0]), lines
    assert lines[1] == "retry returned the same invoice"
    number = re.fullmatch(r'invoice (F-0751234J-\d{4}-\d{5}): (\d+\.\d\d) EUR, ETag "2"', lines[2]).group(1)
    assert lines[3] == f"the OPCO lists {number}"
    assert lines[4] == "acceptance: accepted"
    assert '"type":"urn:parcours:problem:precondition-failed"' in lines[5] and '"current_version":3' in lines[5]
    assert lines[6] == "payment recorded, unallocated: 0.00"
    assert lines[7] == "balance: settled"
    assert lines[8].startswith("cfa_uai,opco,severity,code,date,contract_id,")


def test_the_webhooks_example_runs_as_documented(served):
    """An endpoint registered, a contract signed: the example receiver verifies the signed
    delivery, the service records it delivered, and a replay (same webhook-id) is skipped."""
    import sys

    text = README.read_text()
    script = re.search(r"<!-- webhooks-example:start -->\s*```bash\n(.*?)```", text, re.S).group(1)
    env = {**os.environ, "KEY": served.keys.cfa_a, "BASE": served.urls["contracts"],
           "HOOKS": served.urls["webhooks"], "PY": sys.executable}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=README.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 6, lines
    assert lines[0] == "registered: active"
    assert lines[1] == "forged delivery: 401"
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(rf"received: contract\.signed {uuid}", lines[2]), lines
    assert lines[3] == "deliveries: delivered"
    assert lines[4] == "replay: delivered, printed 1 time(s) in all"
    assert lines[5] == "receiver stopped, endpoint deleted"
