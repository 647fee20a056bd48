"""Every worked example through the HTTP simulation and through the CLI."""
import json
import subprocess
import sys

import pytest

from tests.support import Keys
from tests.unit.test_financing_examples import EXAMPLES, amounts_by_contract_and_year

H = Keys.header


@pytest.mark.parametrize("name", sorted(EXAMPLES))
async def test_worked_example_over_http(financing, keys, name):
    example = EXAMPLES[name]
    r = await financing.post("/v1/financing/simulations", json={"events": example["events"]},
                             headers=H(keys.cfa_a))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals_by_opco"] == example["expected"]["totals_by_opco"]
    assert amounts_by_contract_and_year(body) == example["expected"]["amounts_by_contract_and_year"]


def test_every_worked_example_through_the_cli(tmp_path):
    for name, example in EXAMPLES.items():
        path = tmp_path / "events.json"
        path.write_text(json.dumps({"events": example["events"]}))
        out = subprocess.run([sys.executable, "-m", "operations.cli", "financing", "simulate", str(path),
                              "--today", "2030-01-01"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        assert body["totals_by_opco"] == example["expected"]["totals_by_opco"], name
        assert amounts_by_contract_and_year(body) == example["expected"]["amounts_by_contract_and_year"], name


def test_the_cli_reads_stdin_and_refuses_bad_input():
    example = next(iter(EXAMPLES.values()))
    ok = subprocess.run([sys.executable, "-m", "operations.cli", "financing", "simulate", "-"],
                        input=json.dumps({"events": example["events"]}), capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["lines"]
    bad = subprocess.run([sys.executable, "-m", "operations.cli", "financing", "simulate", "-"],
                         input=json.dumps({"events": [{"type": "contract.signed", "subject": "x", "data": {}}]}),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "events.0.contract: Field required" in bad.stderr   # the CERFA's section


async def test_bad_simulations_are_coded_422s(financing, keys):
    for body in [{"events": []}, {"events": [{"type": "contract.signed", "subject": "x", "data": {"signed_on": "x"}}]},
                 {"events": [{"type": "contract.funding_accepted", "subject": "x",
                              "data": {"annual_funding_level": "lots"}}]},
                 {"events": [{"type": "contract.signed", "data": {}}], "extra": 1}]:
        r = await financing.post("/v1/financing/simulations", json=body, headers=H(keys.cfa_a))
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["errors"]


async def test_a_referential_given_in_the_body_is_used(financing, keys):
    example = next(v for k, v in EXAMPLES.items() if k.startswith("E1"))  # 13 months, R2019
    events = [e for e in example["events"] if e["type"] == "contract.signed"]  # no OPCO decision
    referential = {"npec": [{"rncp": "RNCP35185", "cpne": "7", "npec": "8400", "applicable_from": "2024-01-01"}],
                   "cpne_idcc": [{"cpne": "7", "idcc": "1486"}]}
    r = await financing.post("/v1/financing/simulations", json={"events": events, "referential": referential},
                             headers=H(keys.cfa_a))
    assert r.json()["totals_by_opco"] == {"ATLAS": "9100.00"}  # 8400 + 8400 / 12
    r = await financing.post("/v1/financing/simulations", json={"events": events}, headers=H(keys.cfa_a))
    assert r.json()["totals_by_opco"] == {"ATLAS": "6500.00"}  # valeur d'amorçage of level 5: 6000 + 500
