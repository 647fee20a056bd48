"""schemathesis against the four services run as processes of the suite's own (tests/served.py:
free ports, a database and topic prefix of their own), with valid keys: no 5xx, no response
outside its schema, no invalid request accepted. The OpenAPI documents are the apps' own."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_schema_conformance)

from services.contracts.api.app import create_app as contracts_app
from services.financing.api.app import create_app as financing_app
from services.quality.api.app import create_app as quality_app
from services.webhooks.api.app import create_app as webhooks_app
from shared.settings import Settings

CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection, content_type_conformance]
FUZZ = settings(max_examples=int(os.environ.get("PARCOURS_FUZZ_EXAMPLES", "12")), deadline=None,
                derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="session")
def fuzz_keys(served) -> dict[str, str]:
    return {"cfa": served.keys.cfa_a, "opco": served.keys.opco_x, "ops": served.keys.ops}


def _role_for(path: str) -> str:
    if path.endswith("/decision") or path.endswith("/deposit"):
        return "opco"
    if path in ("/v1/events", "/v1/financing/referential/npec"):
        return "ops"
    return "cfa"


def _call(case, service, served, fuzz_keys):
    key = fuzz_keys[_role_for(case.path)]
    case.call_and_validate(base_url=served.urls[service], headers={"Authorization": f"Bearer {key}"},
                           checks=CHECKS)


def _schema(create_app):
    """The OpenAPI document the service serves (its app's own, built without starting it)."""
    return schemathesis.openapi.from_dict(create_app(Settings(run_workers=False)).openapi())


contracts_api, financing_api, quality_api, webhooks_api = (
    _schema(a) for a in (contracts_app, financing_app, quality_app, webhooks_app))


@contracts_api.parametrize()
@FUZZ
def test_contracts_api(case, served, fuzz_keys):
    _call(case, "contracts", served, fuzz_keys)


@financing_api.parametrize()
@FUZZ
def test_financing_api(case, served, fuzz_keys):
    _call(case, "financing", served, fuzz_keys)


@quality_api.parametrize()
@FUZZ
def test_quality_api(case, served, fuzz_keys):
    _call(case, "quality", served, fuzz_keys)


@webhooks_api.parametrize()
@FUZZ
def test_webhooks_api(case, served, fuzz_keys):
    _call(case, "webhooks", served, fuzz_keys)
