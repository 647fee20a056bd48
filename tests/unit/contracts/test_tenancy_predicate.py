"""The listing's SQL predicate is kernel/access.py's rule: for every role it names the columns
``can_see`` compares, and nothing else (checked on the compiled SQL, no database)."""
import pytest

from services.contracts.adapters.contract_listing import visible_to
from shared.auth import Principal
from kernel.access import can_see


def sql(principal: Principal) -> str:
    return str(visible_to(principal).compile(compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize("principal, where", [
    (Principal("k", "cfa", "0751234J"),
     "contracts.contracts.cfa_uai = '0751234J' OR contracts.contracts.cfa_siret = '0751234J'"),
    (Principal("k", "opco", "ATLAS"), "contracts.contracts.opco = 'ATLAS'"),
    (Principal("k", "ops", "ops"), "true"),
    (Principal("k", "auditor", "x"), "false"),
])
def test_each_role_sees_what_the_rule_says(principal, where):
    assert sql(principal) == where


@pytest.mark.parametrize("role, org, contract, seen", [
    ("cfa", "U", ("U", None, "ATLAS"), True), ("cfa", "S", ("U", "S", "ATLAS"), True),
    ("cfa", "X", ("U", "S", "ATLAS"), False), ("opco", "ATLAS", ("U", None, "ATLAS"), True),
    ("opco", "AKTO", ("U", None, "ATLAS"), False), ("opco", "AKTO", ("U", None, None), False),
    ("ops", "ops", ("U", None, None), True), ("auditor", "U", ("U", "U", "U"), False)])
def test_can_see_applies_the_same_rule_to_one_contract(role, org, contract, seen):
    assert can_see(Principal("k", role, org), *contract) == seen
