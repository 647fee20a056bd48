"""What the trial of issue 13 found at the edge of the services: bodies bounded whatever their
framing, control characters refused, a database outage answered 503 on a kept connection, and
readiness that depends on the database only."""
import json
import os
import signal
import subprocess
import sys

import pytest

from services.contracts.api.app import create_app as contracts_app
from shared.net import free_port
from tests.raw_http import connect, post_chunked, request
from tests.served import ROOT
from tests.support import Keys, contract_terms, eventually, running, settings_for

H = Keys.header
MB = 1_000_000
POSTS = {"contracts": "/v1/contracts", "financing": "/v1/financing/simulations",
         "quality": "/v1/quality/complaints"}


@pytest.mark.parametrize("service", sorted(POSTS))
def test_a_chunked_body_over_the_limit_answers_413_on_every_service(served, service):
    answer, sent = post_chunked(served.urls[service], POSTS[service], H(served.keys.cfa_a), total=2 * MB)
    assert answer.status == 413, answer.body
    assert answer.json()["type"] == "urn:parcours:problem:payload-too-large"


def test_a_100_mb_chunked_body_is_refused_without_being_read(served):
    answer, sent = post_chunked(served.urls["contracts"], "/v1/contracts", H(served.keys.cfa_a), total=100 * MB)
    assert answer.status == 413
    assert sent < 20 * MB, f"{sent} bytes were taken before the refusal"
    # the service is still there and answers
    sock = connect(served.urls["contracts"])
    try:
        assert request(sock, "GET", "/health/live").status == 200
    finally:
        sock.close()


@pytest.mark.parametrize("path", ["/v1/contracts/abc%00def", "/v1/contracts/abc%01def/events",
                                  "/v1/contracts/abc%0Adef"])
async def test_a_control_character_in_an_id_answers_404(contracts, keys, path):
    r = await contracts.get(path, headers=H(keys.ops))
    assert r.status_code == 404 and r.json()["type"] == "urn:parcours:problem:not-found"


@pytest.mark.parametrize("path", ["/v1/financing/contracts/abc%00def", "/v1/financing/apprentices/a%00b/handover",
                                  "/v1/financing/opcos/AT%00LAS/commitments"])
async def test_a_control_character_in_a_financing_path_answers_404(financing, keys, path):
    r = await financing.get(path, headers=H(keys.ops))
    assert r.status_code == 404


@pytest.mark.parametrize("query", ["cfa=a%00b", "status=%00", "opco=AT%1bLAS"])
async def test_a_control_character_in_a_query_answers_a_coded_422(contracts, keys, query):
    r = await contracts.get(f"/v1/contracts?{query}", headers=H(keys.ops))
    assert r.status_code == 422, r.text
    assert [e["code"] for e in r.json()["errors"]] == ["control_character"]


@pytest.mark.parametrize("field,value", [(("apprentice", "id"), "app\x00x"), (("employer", "name"), "ACME\x00"),
                                         (("employer", "siret"), "1234\n5678200010"), (("opco",), "AT\tLAS")])
async def test_a_control_character_in_a_body_field_answers_a_coded_422(contracts, keys, field, value):
    body = contract_terms()
    target = body
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    r = await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
    assert r.status_code == 422, r.text
    assert {(e["field"], e["code"]) for e in r.json()["errors"]} == {(".".join(field), "control_character")}


def test_the_connection_stays_usable_after_a_refused_control_character(served):
    sock = connect(served.urls["contracts"])
    try:
        first = request(sock, "GET", "/v1/contracts/abc%00def", H(served.keys.ops))
        second = request(sock, "GET", "/v1/contracts?cfa=a%00b", H(served.keys.ops))
        third = request(sock, "GET", "/health/live")
    finally:
        sock.close()
    assert (first.status, second.status, third.status) == (404, 422, 200)


@pytest.fixture
def contracts_without_database(tmp_path):
    """The contracts service as a process whose database does not answer (nothing listens)."""
    port, log = free_port(), tmp_path / "contracts.log"
    env = {**os.environ, "PARCOURS_DATABASE_URL": f"postgresql+asyncpg://parcours@127.0.0.1:{free_port()}/parcours",
           "PARCOURS_TOPIC_PREFIX": "t-outage."}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "services.contracts.api.app:create_app",
                                 "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", proc, log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


async def test_a_database_outage_answers_503_once_logged_on_a_kept_connection(contracts_without_database):
    url, proc, log = contracts_without_database

    async def listening():
        try:
            connect(url, timeout=1).close()
            return True
        except OSError:
            return proc.poll() is not None  # stop waiting if it died (asserted below)
    await eventually(listening, timeout=60, what="the service to listen")
    assert proc.poll() is None, log.read_text()
    sock = connect(url)
    try:
        answers = [request(sock, "GET", "/v1/contracts", H("prc_anykey")) for _ in range(3)]
        ready = request(sock, "GET", "/health/ready")
    finally:
        sock.close()
    for a in answers:
        assert a.status == 503 and a.headers["retry-after"].isdigit(), a
        assert a.json()["type"] == "urn:parcours:problem:service-unavailable"
        assert a.headers.get("connection") != "close"
    assert ready.status == 503
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line["event"] == "api.dependency_unavailable"]
    assert len(failures) == 3
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 1, text[-4000:]
    assert "Exception in ASGI application" not in text


async def test_readiness_needs_the_database_not_the_broker(database_url):
    settings = settings_for(database_url, kafka_bootstrap=f"127.0.0.1:{free_port()}", run_workers=False)
    app = contracts_app(settings)
    async with running(app) as client:
        ready = await client.get("/health/ready")
        details = await client.get("/health")
        metrics = (await client.get("/metrics")).text
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    assert details.status_code == 200
    assert details.json()["status"] == "degraded" and details.json()["checks"]["kafka"] == "unreachable"
    assert 'parcours_dependency_up{dependency="kafka",service="contracts"} 0.0' in metrics
