"""schemathesis against the three live services started by `make test` (their OpenAPI documents
as served), with valid keys: no 5xx, no response outside its schema, no invalid request accepted."""
import asyncio
import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_schema_conformance)

from shared.auth import create_key
from shared.db import make_engine
from shared.settings import get_settings

PORTS = {"contracts": os.environ.get("PARCOURS_CONTRACTS_PORT", "8001"),
         "financing": os.environ.get("PARCOURS_FINANCING_PORT", "8002"),
         "quality": os.environ.get("PARCOURS_QUALITY_PORT", "8003")}
CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection, content_type_conformance]
FUZZ = settings(max_examples=int(os.environ.get("PARCOURS_FUZZ_EXAMPLES", "12")), deadline=None,
                derandomize=True, suppress_health_check=list(HealthCheck))


def base(service: str) -> str:
    return f"http://127.0.0.1:{PORTS[service]}"


@pytest.fixture(scope="session")
def live_keys() -> dict[str, str]:
    """Keys in the live stack's database (the one `make run` started)."""
    for service in PORTS:
        try:
            httpx.get(f"{base(service)}/health/ready", timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            pytest.fail(f"the live {service} service is not running ({exc}): run `make test`")

    async def make():
        engine = make_engine(get_settings(), pool_size=1)
        try:
            async with engine.begin() as conn:
                return {role: (await create_key(conn, role, org, label="fuzz"))[1]
                        for role, org in (("cfa", "0751234J"), ("opco", "ATLAS"), ("ops", "ops"))}
        finally:
            await engine.dispose()
    return asyncio.run(make())


def _role_for(path: str) -> str:
    if path.endswith("/decision") or path.endswith("/deposit"):
        return "opco"
    if path in ("/v1/events", "/v1/financing/referential/npec"):
        return "ops"
    return "cfa"


def _call(case, service, live_keys):
    key = live_keys[_role_for(case.path)]
    case.call_and_validate(base_url=base(service), headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)


def _schema(service: str):
    """The OpenAPI document the live service serves (loaded when the tests are collected)."""
    return schemathesis.openapi.from_url(f"{base(service)}/openapi.json")


contracts_api, financing_api, quality_api = (_schema(s) for s in ("contracts", "financing", "quality"))


@contracts_api.parametrize()
@FUZZ
def test_contracts_api(case, live_keys):
    _call(case, "contracts", live_keys)


@financing_api.parametrize()
@FUZZ
def test_financing_api(case, live_keys):
    _call(case, "financing", live_keys)


@quality_api.parametrize()
@FUZZ
def test_quality_api(case, live_keys):
    _call(case, "quality", live_keys)
