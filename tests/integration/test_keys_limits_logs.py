"""Keys revoked at once everywhere, per-key rate limits, services standing a burst, and logs that
never carry keys or personal data."""
import asyncio
import json
import os
import subprocess
import sys

from services.financing.api.app import create_app as financing_app
from shared.auth import create_key
from tests.support import Keys, contract_terms, running, settings_for

H = Keys.header


async def test_a_revoked_key_answers_401_at_once_on_every_service(contracts, financing, quality, engine, settings):
    async with engine.begin() as conn:
        _, raw = await create_key(conn, "ops", "ops")
    for client in (contracts, financing, quality):
        assert (await client.get("/v1/events?limit=1", headers=H(raw))).status_code == 200
    env = {"PARCOURS_DATABASE_URL": settings.database_url}
    listed = subprocess.run([sys.executable, "-m", "operations.cli", "keys", "list"], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=60)
    key_id = raw[4:16]
    assert key_id in listed.stdout and raw not in listed.stdout  # the key itself is never shown again
    revoked = subprocess.run([sys.executable, "-m", "operations.cli", "keys", "revoke", key_id],
                             capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    for client in (contracts, financing, quality):
        assert (await client.get("/v1/events?limit=1", headers=H(raw))).status_code == 401


async def test_rate_limit_answers_429_with_retry_after_and_health_stays_up(database_url, keys):
    app = financing_app(settings_for(database_url, rate_limit_per_second=5, rate_limit_burst=10, run_workers=False))
    app.state.rate_limiter.clock = lambda: 1000.0   # time stands still: no token comes back during the burst
    async with running(app) as client:
        body = {"events": [{"type": "contract.cancelled", "subject": "x", "data": {}}]}
        responses = await asyncio.gather(*(client.post("/v1/financing/simulations", json=body,
                                                       headers=H(keys.cfa_a)) for _ in range(40)))
        codes = [r.status_code for r in responses]
        assert codes.count(200) == 10 and codes.count(429) == 30
        limited = next(r for r in responses if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["type"] == "urn:parcours:problem:too-many-requests"
        # another key has its own budget, and health answers throughout
        other = await client.post("/v1/financing/simulations", json=body, headers=H(keys.cfa_b))
        assert other.status_code == 200
        health = await asyncio.gather(*(client.get("/health/live") for _ in range(50)))
        assert {h.status_code for h in health} == {200}


async def test_logs_carry_no_key_and_no_personal_data(contracts, keys, capfd):
    birth = "2004-07-21"
    terms = contract_terms(apprentice={"id": "app-logs", "birth_date": birth}, master={"birth_date": "1970-01-01",
                                                                                    "name": "Jeanne Martin"})
    await contracts.post("/v1/contracts", json=terms, headers=H(keys.cfa_a))
    await contracts.get("/v1/contracts/nope", headers={"Authorization": f"Bearer {keys.cfa_a}x"})
    from shared.observability import configure_logging
    import structlog
    configure_logging()
    structlog.get_logger("test").warning("auth.debug", authorization=f"Bearer {keys.ops}", key=keys.ops,
                                         note=f"failed with {keys.cfa_b}", data={"birth_date": birth})
    out, err = capfd.readouterr()
    logged = out + err
    assert "auth.debug" in logged
    for secret in (keys.cfa_a, keys.ops, keys.cfa_b, birth, "Jeanne Martin"):
        assert secret not in logged
    json_lines = [line for line in err.splitlines() if line.startswith("{")]
    assert any('"auth.debug"' in line for line in json_lines)
    for line in json_lines:
        json.loads(line)  # JSON logs, on stderr
