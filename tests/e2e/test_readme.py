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
