"""The keys as each request reads them (shared/api/key_lookups.py): a key revoked on another
connection answers 401 on the very next call, through the batched lookups or through the pool
while their connection is down; with several HTTP workers the rate limit is one bucket per key
and service, shared by the workers (auth.rate_buckets)."""
import asyncio

from sqlalchemy import text

from services.financing.api.app import create_app as financing_app
from shared.auth import create_key, revoke_key
from tests.support import Keys, eventually, running, settings_for

H = Keys.header
SIMULATION = {"events": [{"type": "contract.cancelled", "subject": "x", "data": {}}]}


async def _new_key(engine, role="ops", org="ops") -> tuple[str, str]:
    async with engine.begin() as conn:
        return await create_key(conn, role, org)


async def test_a_key_revoked_on_another_connection_answers_401_on_the_next_call(contracts, engine):
    key_id, raw = await _new_key(engine)
    assert contracts.app.state.key_lookups.connected
    answers = await asyncio.gather(*(contracts.get("/v1/events?limit=1", headers=H(raw)) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    async with engine.begin() as conn:
        assert await revoke_key(conn, key_id)
    assert (await contracts.get("/v1/events?limit=1", headers=H(raw))).status_code == 401


async def test_a_secret_that_does_not_match_its_key_id_is_refused(contracts, engine):
    _, raw = await _new_key(engine)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    answers = await asyncio.gather(contracts.get("/v1/events?limit=1", headers=H(forged)),
                                   contracts.get("/v1/events?limit=1", headers=H(raw)))
    assert [a.status_code for a in answers] == [401, 200]


async def test_with_the_lookup_connection_down_keys_are_read_through_the_pool(database_url, engine):
    app = financing_app(settings_for(database_url, run_workers=False))
    async with running(app) as client:
        lookups = app.state.key_lookups
        assert lookups.connected
        key_id, raw = await _new_key(engine, "cfa", "0751234J")
        assert (await client.post("/v1/financing/simulations", json=SIMULATION, headers=H(raw))).status_code == 200
        async with engine.connect() as conn:   # PostgreSQL ends the lookups' session (a restart, a kill)
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE application_name = 'parcours-keys' AND datname = current_database()"))
        async with engine.begin() as conn:
            await revoke_key(conn, key_id)
        assert (await client.post("/v1/financing/simulations", json=SIMULATION, headers=H(raw))).status_code == 401
        await eventually(lambda: _true(lookups.connected), timeout=10, what="the lookups to reconnect")
        assert (await client.post("/v1/financing/simulations", json=SIMULATION, headers=H(raw))).status_code == 401


async def _true(value):
    return value


async def test_several_workers_share_one_rate_bucket_per_key(database_url, engine):
    settings = settings_for(database_url, rate_limit_per_second=5, rate_limit_burst=10, run_workers=False,
                            http_workers=2)
    workers = [financing_app(settings), financing_app(settings)]
    _, raw = await _new_key(engine, "cfa", "0751234J")
    async with running(workers[0]) as first, running(workers[1]) as second:
        for app in workers:
            app.state.key_lookups.shared_limit.clock = lambda: 1000.0   # no token comes back during the burst
        responses = await asyncio.gather(*(client.post("/v1/financing/simulations", json=SIMULATION, headers=H(raw))
                                           for _ in range(20) for client in (first, second)))
        codes = [r.status_code for r in responses]
        assert codes.count(200) == 10 and codes.count(429) == 30
        limited = next(r for r in responses if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["type"] == "urn:parcours:problem:too-many-requests"
        for app in workers:   # a second later, five tokens are back: for both workers together
            app.state.key_lookups.shared_limit.clock = lambda: 1001.0
        later = await asyncio.gather(*(client.post("/v1/financing/simulations", json=SIMULATION, headers=H(raw))
                                       for _ in range(5) for client in (first, second)))
        assert [r.status_code for r in later].count(200) == 5
