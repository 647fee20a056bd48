"""Each path of the contract lifecycle through the API, on real PostgreSQL and Kafka."""
import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer

from shared.messaging.topics import CONTRACT_EVENTS
from tests.integration.lifecycle_api import ContractsApi
from tests.support import CFA_B, Keys, contract_terms, eventually

H = Keys.header


@pytest.fixture
def api(contracts, keys):
    return ContractsApi(contracts, keys)


async def test_signed_transmitted_accepted_deposited_amended_completed(api, keys):
    cid = (await api.sign(start_date="2024-09-28", planned_end_date="2026-08-31"))["contract_id"]
    await api.command(cid, "deposit", {"deposited_on": "2024-10-01", "deposit_number": "X1"}, keys.opco_x, expect=409)
    await api.transmit(cid)
    await api.accept(cid, key=keys.cfa_a, expect=403)         # only an OPCO decides
    await api.accept(cid, key=keys.opco_y, expect=404)        # another OPCO never sees it
    assert (await api.accept(cid))["status"] == "accepted"
    assert (await api.deposit(cid))["status"] == "deposited"
    await api.deposit(cid, expect=409)                        # already deposited
    amended = await api.command(cid, "amendments", {"effective_on": "2025-06-01", "amendment_type": "33",
                                                    "changes": {"planned_end_date": "2027-01-31"}}, keys.cfa_a)
    assert amended["version"] == 5
    state = await api.get(cid)
    assert state["planned_end_date"] == "2027-01-31" and state["state"]["needs_transmission"]
    await api.deposit(cid, expect=409)                        # the avenant must be transmitted first
    await api.transmit(cid, on="2025-06-02")
    await api.deposit(cid, number="075202506000001")
    done = await api.command(cid, "completion", {"ended_on": "2027-01-31", "diploma_obtained": True}, keys.cfa_a)
    assert done["status"] == "completed"
    conflict = await api.command(cid, "rupture", {"ruptured_on": "2026-01-01", "reason": "mutual_agreement"},
                                 keys.cfa_a, expect=409)
    assert conflict["current_state"]["status"] == "completed"
    assert conflict["type"] == "urn:parcours:problem:invalid-transition"
    assert await api.event_types(cid) == [
        "contract.signed", "contract.transmitted", "contract.funding_accepted", "contract.deposited",
        "contract.amended", "contract.transmitted", "contract.deposited", "contract.completed"]


async def test_an_amendment_is_checked_like_a_signature(api, keys):
    cid = (await api.sign())["contract_id"]
    bad = await api.command(cid, "amendments", {"effective_on": "2025-01-01", "amendment_type": "36",
                                                "changes": {"planned_end_date": "2029-01-01"}}, keys.cfa_a, expect=422)
    assert [e["code"] for e in bad["errors"]] == ["duration_too_long"]
    assert bad["errors"][0]["article"] == "L6222-7-1"
    assert await api.event_types(cid) == ["contract.signed"]


async def read_key(settings, key: str, count: int):
    consumer = AIOKafkaConsumer(settings.topic(CONTRACT_EVENTS), bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found = []
    try:
        async def enough():
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(json.loads(r.value) for r in recs if r.key == key.encode())
            return len(found) >= count
        await eventually(enough, timeout=30, what=f"{count} events of {key}")
    finally:
        await consumer.stop()
    return found


async def test_rupture_then_rehire_with_another_opco(api, keys, settings, financing):
    apprentice = {"id": "app-rehire-1", "birth_date": "2005-03-14"}
    first = (await api.sign(apprentice=apprentice, signed_on="2024-08-26", start_date="2024-09-01",
                            planned_end_date="2026-08-31"))["contract_id"]
    await api.transmit(first, on="2024-09-02")
    await api.accept(first, level="8000.00")
    await api.deposit(first)
    await api.rupture(first, on="2025-01-15")
    await api.rupture(first, on="2025-01-16", expect=409)     # a second rupture
    second = await api.sign(apprentice=apprentice, employer={"siret": "12345678200010", "idcc": "1979"},
                            signed_on="2025-03-10", start_date="2025-03-17", planned_end_date="2026-08-31",
                            contract_type="23", previous_contract_id=first)
    assert second["opco"] == "AKTO"
    assert (await api.get(first))["state"]["successor_contract_id"] == second["contract_id"]
    await api.sign(apprentice=apprentice, signed_on="2025-03-11", start_date="2025-03-18",
                   planned_end_date="2026-08-31", contract_type="23", previous_contract_id=first, expect=409)

    events = await read_key(settings, "app-rehire-1", 7)
    assert [(e["subject"], e["type"]) for e in events] == [
        (first, "contract.signed"), (first, "contract.transmitted"), (first, "contract.funding_accepted"),
        (first, "contract.deposited"), (first, "contract.ruptured"),
        (second["contract_id"], "contract.signed"), (first, "contract.rehired")]
    # AKTO sees the successor, not the first contract; ATLAS the other way round
    await api.accept(second["contract_id"], key=keys.opco_x, expect=404)
    await api.transmit(second["contract_id"], on="2025-03-18")
    await api.accept(second["contract_id"], key=keys.opco_y, level="7200.00")

    async def both_projected():
        a = await financing.get(f"/v1/financing/contracts/{first}", headers=H(keys.opco_x))
        b = await financing.get(f"/v1/financing/contracts/{second['contract_id']}", headers=H(keys.opco_y))
        return a.status_code == b.status_code == 200 and a.json()["status"] == "ruptured"
    await eventually(both_projected, what="both contracts in the financing projection")


async def test_refusal_is_motivated_and_blocks_the_deposit(api, keys):
    cid = (await api.sign())["contract_id"]
    await api.transmit(cid)
    no_motive = await api.command(cid, "decision", {"outcome": "refused", "decided_on": "2024-10-05"},
                                  keys.opco_x, expect=422)
    assert no_motive["errors"][0]["field"] == "motive"
    refused = await api.command(cid, "decision", {"outcome": "refused", "decided_on": "2024-10-05",
                                                  "motive": "NPEC not applicable"}, keys.opco_x)
    assert refused["status"] == "refused"
    await api.deposit(cid, expect=409)
    await api.command(cid, "post-rupture-training-end", {"ended_on": "2025-01-01", "reason": "left_cfa"},
                      keys.cfa_a, expect=409)


async def test_post_rupture_training_and_cancellation(api, keys):
    cid = (await api.sign(start_date="2024-09-28"))["contract_id"]
    await api.rupture(cid, on="2025-01-15")
    await api.command(cid, "post-rupture-training-end", {"ended_on": "2025-07-15", "reason": "limit_reached"},
                      keys.cfa_a, expect=422)  # past R + 6 months - 1 day
    await api.command(cid, "post-rupture-training-end", {"ended_on": "2025-07-14", "reason": "limit_reached"},
                      keys.cfa_a)
    other = (await api.sign(start_date="2024-09-28"))["contract_id"]
    await api.command(other, "cancellation", {"cancelled_on": "2024-10-01", "motive": "late"}, keys.cfa_a, expect=409)
    cancelled = await api.command(other, "cancellation", {"cancelled_on": "2024-09-25", "motive": "withdrew"},
                                  keys.cfa_a)
    assert cancelled["status"] == "cancelled"
    await api.transmit(other, expect=409)


async def test_if_match_and_etag(api, keys, contracts):
    cid = (await api.sign())["contract_id"]
    stale = await api.transmit(cid, headers={"If-Match": '"7"'}, expect=412)
    assert stale["current_version"] == 1
    ok = await contracts.post(f"/v1/contracts/{cid}/transmission", headers={**H(keys.cfa_a), "If-Match": '"1"'},
                              json={"transmitted_on": "2024-09-30", "by": "employer"})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'


async def test_a_retried_post_returns_the_first_response_and_writes_once(contracts, keys):
    body = contract_terms()
    headers = {**H(keys.cfa_a), "Idempotency-Key": "erp-42-sign"}
    responses = await asyncio.gather(*(contracts.post("/v1/contracts", json=body, headers=headers)
                                       for _ in range(50)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["contract_id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    listing = await contracts.get("/v1/contracts?limit=500", headers=H(keys.ops))
    same = [c for c in listing.json()["items"] if c["apprentice_id"] == body["apprentice"]["id"]]
    assert len(same) == 1
    other = await contracts.post("/v1/contracts", json={**body, "signed_on": "2024-09-21"}, headers=headers)
    assert other.status_code == 422 and other.json()["type"] == "urn:parcours:problem:idempotency-key-reused"

    cid = responses[0].json()["contract_id"]
    t_headers = {**H(keys.cfa_a), "Idempotency-Key": "erp-42-transmit"}
    first = await contracts.post(f"/v1/contracts/{cid}/transmission", headers=t_headers,
                                 json={"transmitted_on": "2024-09-30", "by": "cfa"})
    again = await contracts.post(f"/v1/contracts/{cid}/transmission", headers=t_headers,
                                 json={"transmitted_on": "2024-09-30", "by": "cfa"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    events = (await contracts.get(f"/v1/contracts/{cid}/events", headers=H(keys.ops))).json()["events"]
    assert [e["type"] for e in events] == ["contract.signed", "contract.transmitted"]


async def test_lists_paginate_with_a_stable_cursor_and_filter(contracts, keys, api):
    signed = []
    for day in ("2024-09-05", "2024-09-03", "2024-09-04", "2024-09-03", "2024-09-06"):
        signed.append((await api.sign(key=keys.cfa_b, cfa={"uai": CFA_B}, signed_on=day, start_date="2024-09-10",
                                      planned_end_date="2026-08-31"))["contract_id"])
    seen, url = [], "/v1/contracts?limit=2"
    while url:
        page = (await contracts.get(url, headers=H(keys.cfa_b))).json()
        seen += page["items"]
        url = page["next"]
    assert sorted(c["contract_id"] for c in seen) == sorted(signed)
    keys_order = [(c["signed_on"], c["contract_id"]) for c in seen]
    assert keys_order == sorted(keys_order)
    window = (await contracts.get("/v1/contracts?signed_from=2024-09-04&signed_to=2024-09-05",
                                  headers=H(keys.cfa_b))).json()["items"]
    assert len(window) == 2
    assert (await contracts.get("/v1/contracts?status=cancelled", headers=H(keys.cfa_b))).json()["items"] == []
    assert (await contracts.get("/v1/contracts?cursor=%%%", headers=H(keys.cfa_b))).status_code == 422
