"""A signed contract flows from the contracts API to the financing projection through the
store, the outbox relay and Kafka."""
from tests.support import CFA_B, Keys, contract_terms, eventually

H = Keys.header


async def sign(contracts, key, **over):
    r = await contracts.post("/v1/contracts", json=contract_terms(**over), headers=H(key))
    assert r.status_code == 201, r.text
    return r


async def test_sign_then_read_state_events_and_financing(contracts, financing, keys):
    r = await sign(contracts, keys.cfa_a)
    body = r.json()
    cid = body["contract_id"]
    assert r.headers["location"] == f"/v1/contracts/{cid}"
    assert body["version"] == 1 and body["opco"] == "ATLAS"  # derived from IDCC 1486

    got = await contracts.get(f"/v1/contracts/{cid}", headers=H(keys.cfa_a))
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    assert got.json()["status"] == "signed"

    events = (await contracts.get(f"/v1/contracts/{cid}/events", headers=H(keys.cfa_a))).json()["events"]
    assert [e["type"] for e in events] == ["contract.signed"]
    assert events[0]["specversion"] == "1.0" and events[0]["subject"] == cid and events[0]["sequence"] == "1"

    async def projected():
        resp = await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.cfa_a))
        return resp.json() if resp.status_code == 200 else None

    fin = await eventually(projected, what="the financing projection")
    assert fin["opco"] == "ATLAS" and fin["regime"] == "R2019"
    assert fin["planned_funded_months"] == 13  # 2024-09-28 .. 2025-10-03: 13 months started


async def test_tenants_see_only_their_contracts(contracts, financing, keys):
    cid = (await sign(contracts, keys.cfa_a)).json()["contract_id"]
    for key, status in [(keys.cfa_a, 200), (keys.cfa_b, 404), (keys.opco_x, 200), (keys.opco_y, 404),
                        (keys.ops, 200)]:
        r = await contracts.get(f"/v1/contracts/{cid}", headers=H(key))
        assert r.status_code == status, (key, r.text)
        if status == 404:
            assert r.headers["content-type"] == "application/problem+json"
    r = await contracts.get(f"/v1/contracts/{cid}/events", headers=H(keys.cfa_b))
    assert r.status_code == 404

    await eventually(lambda: _visible(financing, cid, keys.ops), what="projection")
    assert (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.cfa_b))).status_code == 404
    assert (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.opco_y))).status_code == 404
    assert (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(keys.opco_x))).status_code == 200


async def _visible(financing, cid, key):
    return (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(key))).status_code == 200


async def test_without_a_valid_key_every_endpoint_answers_401(contracts, financing, quality):
    for client, path in [(contracts, "/v1/contracts/x"), (contracts, "/v1/events"),
                         (financing, "/v1/financing/contracts/x"), (quality, "/v1/events")]:
        for headers in [{}, {"Authorization": "Bearer prc_000000000000_nope"}, {"Authorization": "Basic abc"}]:
            r = await client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == "urn:parcours:problem:unauthorized"


async def test_only_a_cfa_key_of_that_cfa_signs(contracts, keys):
    r = await contracts.post("/v1/contracts", json=contract_terms(), headers=H(keys.opco_x))
    assert r.status_code == 403 and r.json()["type"] == "urn:parcours:problem:forbidden-role"
    r = await contracts.post("/v1/contracts", json=contract_terms(cfa={"uai": CFA_B}), headers=H(keys.cfa_a))
    assert r.status_code == 403


async def test_bad_input_is_a_coded_problem(contracts, keys):
    r = await contracts.post("/v1/contracts", json=contract_terms(planned_end_date="2024-09-01",
                                                                    signed_on="2024-10-01"),
                             headers=H(keys.cfa_a))
    assert r.status_code == 422
    codes = {e["code"] for e in r.json()["errors"]}
    assert {"end_not_after_start", "signed_after_start"} <= codes

    body = contract_terms()
    del body["start_date"]
    body["surprise"] = 1
    r = await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"start_date", "surprise"} <= fields

    r = await contracts.post("/v1/contracts", json=contract_terms(employer={"siret": "12345678200010", "idcc": "9999"}),
                             headers=H(keys.cfa_a))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "opco_unknown_for_idcc"

    r = await contracts.post("/v1/contracts", content=b"<xml/>", headers={**H(keys.cfa_a), "content-type": "text/xml"})
    assert r.status_code == 415
    r = await contracts.post("/v1/contracts", content=b"{" + b" " * 2_000_000 + b"}",
                             headers={**H(keys.cfa_a), "content-type": "application/json"})
    assert r.status_code == 413


async def test_the_feed_is_for_ops_and_resumes_after_a_position(contracts, keys):
    assert (await contracts.get("/v1/events", headers=H(keys.cfa_a))).status_code == 403
    first = (await sign(contracts, keys.cfa_a)).json()["contract_id"]
    seen: list[dict] = []
    after = 0

    async def read_on():  # page through the feed from where we stopped; done once ``first`` is in it
        nonlocal after
        while True:
            page = (await contracts.get(f"/v1/events?after={after}&limit=500", headers=H(keys.ops))).json()
            if not page["events"]:
                break
            seen.extend(page["events"])
            after = page["last_position"]
        return first in {e["subject"] for e in seen}

    # the feed holds an event back while an older transaction is still open anywhere (xid8 rule)
    await eventually(read_on, what="the first contract in the feed")
    assert len({e["id"] for e in seen}) == len(seen)
    resumed_from = after
    second = (await sign(contracts, keys.cfa_a)).json()["contract_id"]

    async def second_seen():
        await read_on()
        return second in {e["subject"] for e in seen}

    await eventually(second_seen, what="the second contract in the feed")
    rest = [e for e in seen if e["position"] > resumed_from]
    assert len({e["id"] for e in seen}) == len(seen), "an event was delivered twice"
    assert second in {e["subject"] for e in rest} and first not in {e["subject"] for e in rest}
    assert (await contracts.get("/v1/events?after=99999999", headers=H(keys.ops))).status_code == 422


async def test_health_and_metrics(contracts, financing, quality):
    for c in (contracts, financing, quality):
        assert (await c.get("/health/live")).json() == {"status": "ok"}
        ready = await c.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
        details = await c.get("/health")
        assert details.status_code == 200 and details.json()["checks"] == {"database": "ok", "kafka": "ok"}
    metrics = (await contracts.get("/metrics")).text
    assert "parcours_http_request_seconds" in metrics and "parcours_events_published_total" in metrics
