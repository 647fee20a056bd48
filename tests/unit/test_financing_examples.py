"""Every worked example of financing_examples.json through the pure engine."""
import json
from datetime import date
from pathlib import Path

import pytest

from services.financing.domain.engine import compute
from services.financing.domain.npec import Referential

# The spec's own file when the project's shared/ folder is beside the checkout, else the copy.
_SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "financing_examples.json"
_COPY = Path(__file__).resolve().parents[1] / "data" / "financing_examples.json"
EXAMPLES = json.loads((_SPEC if _SPEC.exists() else _COPY).read_text())


def amounts_by_contract_and_year(result) -> dict:
    out: dict = {}
    for line in result["lines"]:
        out.setdefault(line["contract_id"], {})[str(line["funding_year"])] = line["amount"]
    return out


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example(name):
    example = EXAMPLES[name]
    result = compute(example["events"], Referential(), date(2030, 1, 1)).as_dict()
    assert result["totals_by_opco"] == example["expected"]["totals_by_opco"]
    assert amounts_by_contract_and_year(result) == example["expected"]["amounts_by_contract_and_year"]


def test_level_6_reports_the_employer_contribution():
    example = next(v for k, v in EXAMPLES.items() if k.startswith("D4"))
    (line,) = compute(example["events"], Referential(), date(2030, 1, 1)).as_dict()["lines"]
    assert line["employer_contribution"] == "750.00" and line["amount"] == "8250.00"
