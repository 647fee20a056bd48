"""Webhooks end to end (issue 17): a CFA registers an endpoint on a real HTTP receiver, signs and
ruptures a contract, and receives both events in order, signed so that the Standard Webhooks
library verifies them; the receiver's 500 and its timeout are retried (the test's clock steps
over the backoff) until it answers 200; another CFA's receiver gets nothing of it; the attempts
are listed; a replay sends both again with the same webhook-id."""
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.webhooks.api.app import create_app
from shared.clock import FixedClock
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually, isolated_contracts, running
from tests.webhook_receiver import receiving

H = Keys.header


@asynccontextmanager
async def webhook_stack(**settings):
    """Contracts on a database of its own, and the webhooks service over it with a clock of the
    test's (a retry is due when the test advances it) and a short attempt timeout."""
    async with isolated_contracts() as (contracts, app, keys, url, _):
        clock = FixedClock(app.state.clock.today())
        hooks_settings = app.state.settings.model_copy(update={"webhook_timeout_seconds": 0.5, **settings})
        async with running(create_app(hooks_settings, clock=clock)) as hooks:
            yield contracts, hooks, keys, clock


async def register(hooks, key, url, types=("contract.*",), expect=201):
    r = await hooks.post("/v1/webhooks", json={"url": url, "event_types": list(types), "description": "ERP"},
                         headers=H(key))
    assert r.status_code == expect, r.text
    return r.json()


async def attempts(hooks, key, endpoint_id):
    r = await hooks.get(f"/v1/webhooks/{endpoint_id}/deliveries", headers=H(key))
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


async def test_signed_deliveries_in_order_retried_until_accepted_and_replayed():
    async with webhook_stack() as (contracts, hooks, keys, clock), \
            receiving(500, "hang") as mine, receiving() as theirs:
        endpoint = await register(hooks, keys.cfa_a, mine.url)
        assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"
        await register(hooks, keys.cfa_b, theirs.url)

        api = ContractsApi(contracts, keys)
        cid = (await api.sign())["contract_id"]
        await api.rupture(cid)

        # first attempt: 500; the next waits for its backoff (the test's clock does not move)
        await eventually(lambda: _count(mine, 1), what="the first attempt")
        first = await eventually(lambda: _failed(hooks, keys.cfa_a, endpoint["endpoint_id"]),
                                 what="the 500 to be recorded")
        assert first["history"][0]["status_code"] == 500 and first["next_attempt_at"]
        clock.advance(timedelta(hours=1))
        # second attempt: no answer within the timeout; then the clock moves past its backoff
        await eventually(lambda: _count(mine, 2), what="the second attempt")
        await eventually(lambda: _outcome(hooks, keys.cfa_a, endpoint["endpoint_id"], "timeout"),
                         what="the timeout to be recorded")
        clock.advance(timedelta(hours=1))
        await eventually(lambda: _delivered_types(mine, cid, 2), what="both events delivered")

        signed, ruptured = [r for r in mine.delivered() if r.event["subject"] == cid]
        assert [signed.event["type"], ruptured.event["type"]] == ["contract.signed", "contract.ruptured"]
        verifier = Webhook(endpoint["secret"])
        for r in (signed, ruptured):
            assert verifier.verify(r.body, r.headers)["id"] == r.headers["webhook-id"]
            assert r.headers["content-type"].startswith("application/cloudevents+json")
            assert "birth_date" not in r.body.decode()          # the topic's data, no personal field
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43).verify(signed.body, signed.headers)
        # every attempt of the first event carried the same webhook-id (a receiver dedupes by it)
        assert {r.headers["webhook-id"] for r in mine.requests[:3]} == {signed.headers["webhook-id"]}
        assert not [r for r in theirs.requests if r.event["subject"] == cid]   # CFA B sees nothing of it

        history = [d for d in await attempts(hooks, keys.cfa_a, endpoint["endpoint_id"])
                   if d["message_id"] == signed.headers["webhook-id"]][0]
        assert [a["outcome"] for a in history["history"]] == ["http_error", "timeout", "delivered"]
        assert history["status"] == "delivered" and history["next_attempt_at"] is None
        assert all(a["latency_ms"] is not None for a in history["history"])

        # replay from the signature's position: both again, in order, with the same ids
        before = len(mine.delivered())
        r = await hooks.post(f"/v1/webhooks/{endpoint['endpoint_id']}/replay?from={history['position']}",
                             headers=H(keys.cfa_a))
        assert r.status_code == 202 and r.json()["deliveries"] == 2, r.text
        await eventually(lambda: _delivered_after(mine, before, 2), what="the replay")
        again = mine.delivered()[before:]
        assert [x.headers["webhook-id"] for x in again] == [signed.headers["webhook-id"], ruptured.headers["webhook-id"]]


async def test_another_tenants_endpoint_is_not_found_and_internal_addresses_are_refused():
    async with webhook_stack(webhook_allowed_hosts="") as (contracts, hooks, keys, clock):
        async def resolve(host):
            return {"hooks.example-cfa.fr": ["93.184.215.14"], "inside.example-cfa.fr": ["10.1.2.3"]}.get(host, [])
        hooks.app.state.resolve = resolve
        refused = await register(hooks, keys.cfa_a, "https://inside.example-cfa.fr/h", expect=422)
        assert refused["errors"][0]["code"] == "webhook_url_internal"
        for url, code in [("http://hooks.example-cfa.fr/h", "webhook_url_not_https"),
                          ("https://127.0.0.1/h", "webhook_url_internal"),
                          ("https://169.254.169.254/latest", "webhook_url_internal"),
                          ("https://user:pw@hooks.example-cfa.fr/h", "webhook_url_invalid"),
                          ("https://nowhere.example-cfa.fr/h", "webhook_url_unresolvable")]:
            assert (await register(hooks, keys.cfa_a, url, expect=422))["errors"][0]["code"] == code, url
        assert (await register(hooks, keys.cfa_a, "https://hooks.example-cfa.fr/h", types=("contract.nope",),
                               expect=422))["errors"][0]["code"] == "unknown_event_type"
        mine = await register(hooks, keys.cfa_a, "https://hooks.example-cfa.fr/h")
        for method, path in [("GET", ""), ("GET", "/deliveries"), ("PATCH", ""), ("DELETE", ""),
                             ("POST", "/replay?from=1"), ("POST", "/secret-rotation")]:
            r = await hooks.request(method, f"/v1/webhooks/{mine['endpoint_id']}{path}", headers=H(keys.cfa_b),
                                    **({"json": {"status": "paused"}} if method == "PATCH" else {}))
            assert r.status_code == 404, (method, path, r.text)
        listed = (await hooks.get("/v1/webhooks", headers=H(keys.cfa_b))).json()["endpoints"]
        assert mine["endpoint_id"] not in {e["endpoint_id"] for e in listed}
        everything = (await hooks.get("/v1/webhooks", headers=H(keys.ops))).json()["endpoints"]
        assert mine["endpoint_id"] in {e["endpoint_id"] for e in everything}   # ops keys see every endpoint


async def test_a_rotated_secret_signs_beside_the_old_one_and_a_paused_endpoint_holds_its_deliveries():
    async with webhook_stack() as (contracts, hooks, keys, clock), receiving() as mine:
        endpoint = await register(hooks, keys.cfa_a, mine.url)
        eid = endpoint["endpoint_id"]
        r = await hooks.post(f"/v1/webhooks/{eid}/secret-rotation", headers=H(keys.cfa_a))
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["secret"] != endpoint["secret"]
        paused = await hooks.patch(f"/v1/webhooks/{eid}", json={"status": "paused"},
                                   headers={**H(keys.cfa_a), "If-Match": f'"{rotated["version"]}"'})
        assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text

        cid = (await ContractsApi(contracts, keys).sign())["contract_id"]
        await eventually(lambda: _pending(hooks, keys.cfa_a, eid, 1), what="the delivery to wait")
        assert mine.requests == []
        assert (await hooks.patch(f"/v1/webhooks/{eid}", json={"status": "active"},
                                  headers=H(keys.cfa_a))).status_code == 200
        await eventually(lambda: _delivered_types(mine, cid, 1), what="the held delivery")
        got = mine.delivered()[0]
        for secret in (endpoint["secret"], rotated["secret"]):   # both verify during the overlap
            Webhook(secret).verify(got.body, got.headers)
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        stale = await hooks.patch(f"/v1/webhooks/{eid}", json={"description": "x"},
                                  headers={**H(keys.cfa_a), "If-Match": '"1"'})
        assert stale.status_code == 412 and stale.json()["current_version"] >= 3
        assert (await hooks.delete(f"/v1/webhooks/{eid}", headers=H(keys.cfa_a))).status_code == 204
        assert (await hooks.get(f"/v1/webhooks/{eid}", headers=H(keys.cfa_a))).status_code == 404


async def _count(receiver, n):
    return len(receiver.requests) >= n


async def _failed(hooks, key, endpoint_id):
    ds = await attempts(hooks, key, endpoint_id)
    return next((d for d in ds if d["history"] and d["history"][0]["outcome"] == "http_error"), None)


async def _outcome(hooks, key, endpoint_id, outcome):
    return any(a["outcome"] == outcome for d in await attempts(hooks, key, endpoint_id) for a in d["history"])


async def _recorded(hooks, key, endpoint_id, n):
    return sum(len(d["history"]) for d in await attempts(hooks, key, endpoint_id)) >= n


async def _pending(hooks, key, endpoint_id, n):
    return len([d for d in await attempts(hooks, key, endpoint_id) if d["status"] == "pending"]) >= n


async def _delivered_types(receiver, cid, n):
    return len([r for r in receiver.delivered() if r.event["subject"] == cid]) >= n


async def _delivered_after(receiver, before, n):
    return len(receiver.delivered()) >= before + n


async def test_retry_after_is_honoured_then_past_24_hours_the_endpoint_fails_until_resumed():
    async with webhook_stack() as (contracts, hooks, keys, clock), \
            receiving((429, {"Retry-After": "7200"}), 500, 500) as mine:
        endpoint = await register(hooks, keys.cfa_a, mine.url)
        eid = endpoint["endpoint_id"]
        cid = (await ContractsApi(contracts, keys).sign())["contract_id"]
        await eventually(lambda: _outcome(hooks, keys.cfa_a, eid, "http_error"), what="the 429")
        (first,) = await attempts(hooks, keys.cfa_a, eid)
        assert first["history"][0]["status_code"] == 429
        retry_at = datetime.fromisoformat(first["next_attempt_at"])
        assert retry_at == clock.now() + timedelta(hours=2)   # exactly, no jitter
        clock.advance(timedelta(hours=25))           # past the retry window: the next failure gives up
        await eventually(lambda: _count(mine, 2), what="the retry after Retry-After")

        async def failing():
            r = await hooks.get(f"/v1/webhooks/{eid}", headers=H(keys.cfa_a))
            return r.json() if r.json()["status"] == "failing" else None
        state = await eventually(failing, what="the endpoint marked failing")
        assert state["failing_since"] and state["health"]["pending"] == 1
        assert state["health"]["last_outcome"] == "http_error"
        async with hooks.app.state.engine.connect() as conn:   # what the CFA's quality dashboard reads
            from services.quality.adapters.webhook_health import SqlWebhookHealth
            (shown,) = await SqlWebhookHealth(conn).of_cfa(endpoint["owner"]["org"])
        assert (shown.status, shown.pending, shown.url) == ("failing", 1, mine.url)
        clock.advance(timedelta(days=3))             # a failing endpoint's deliveries wait
        await hooks.get("/v1/webhooks", headers=H(keys.cfa_a))
        assert len(mine.requests) == 2
        r = await hooks.patch(f"/v1/webhooks/{eid}", json={"status": "active"}, headers=H(keys.cfa_a))
        assert r.status_code == 200 and r.json()["failing_since"] is None
        await eventually(lambda: _recorded(hooks, keys.cfa_a, eid, 3), what="the attempt after resuming")  # 500
        clock.advance(timedelta(hours=1))          # past its backoff (the attempt is recorded: its retry is set)
        await eventually(lambda: _delivered_types(mine, cid, 1), what="the delivery once the receiver answers")
