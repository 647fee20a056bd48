"""Every operation of every service x every role: another tenant's resource is 404, an act
outside the role 403, no key or a revoked key 401. The operations come from the live OpenAPI
documents: a new endpoint fails this test until its policy is written below."""
import secrets

import pytest

from shared.auth import create_key, revoke_key
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

OK = "ok"  # authorised: any answer but 401, 403 and 404 (2xx, or 409/412/422 on the body or state)
ROLES = ("cfa_a", "cfa_b", "opco_x", "opco_y", "ops")


def policy(cfa_a, cfa_b, opco_x, opco_y, ops):
    return dict(zip(ROLES, (cfa_a, cfa_b, opco_x, opco_y, ops)))


OWN_READ = policy(OK, 404, OK, 404, OK)
CFA_ACT = policy(OK, 404, 403, 404, 403)
OPCO_ACT = policy(403, 404, OK, 404, 403)
OPS_ONLY = policy(403, 403, 403, 403, OK)
CFA_OWN = policy(OK, OK, 403, 403, 403)       # a CFA's own quality records (another CFA sees its own)
CFA_RECORD = policy(OK, 404, 403, 403, 403)    # one CFA's record
COLLECTIONS = ("appraisals", "complaints", "hazards", "incidents", "measures", "councils")
ANY = policy(OK, OK, OK, OK, OK)
ENDPOINT = policy(OK, 404, 404, 404, OK)       # CFA A's webhook endpoint (ops keys manage every endpoint)

POLICIES = {
    "contracts": {
        ("post", "/v1/contracts"): policy(OK, 403, 403, 403, 403),
        ("get", "/v1/contracts"): ANY,
        ("get", "/v1/contracts/{contract_id}"): OWN_READ,
        ("get", "/v1/contracts/{contract_id}/events"): OWN_READ,
        # the whole CERFA, personal data included: the contract's CFA and OPCO, never ops
        ("get", "/v1/contracts/{contract_id}/cerfa"): policy(OK, 404, OK, 404, 403),
        ("get", "/v1/contracts/{contract_id}/cerfa.html"): policy(OK, 404, OK, 404, 403),
        ("get", "/v1/contracts/{contract_id}/cerfa.pdf"): policy(OK, 404, OK, 404, 403),
        **{("post", f"/v1/contracts/{{contract_id}}/{p}"): CFA_ACT
           for p in ("transmission", "amendments", "rupture", "post-rupture-training-end", "completion",
                     "cancellation")},
        ("post", "/v1/contracts/{contract_id}/decision"): OPCO_ACT,
        ("post", "/v1/contracts/{contract_id}/deposit"): OPCO_ACT,
        ("get", "/v1/events"): OPS_ONLY,
        ("get", "/v1/schemas/events"): ANY,
        ("get", "/v1/schemas/events/{event_type}/{version}"): ANY,
        # DECA: an OPCO its own contracts, ops every one, a CFA never (docs/deca.md)
        ("post", "/v1/deca/reconciliations"): policy(403, 403, OK, OK, OK),
        ("get", "/v1/deca/contracts"): policy(403, 403, OK, OK, OK),
    },
    "financing": {
        ("get", "/v1/financing/contracts/{contract_id}"): OWN_READ,
        ("get", "/v1/financing/apprentices/{apprentice_id}/handover"): OWN_READ,
        ("get", "/v1/financing/opcos/{code}/commitments"): policy(OK, OK, OK, 404, OK),
        ("post", "/v1/financing/simulations"): ANY,
        ("post", "/v1/financing/fees"): policy(OK, 404, 403, 403, 403),
        ("put", "/v1/financing/referential/npec"): OPS_ONLY,
        ("get", "/v1/events"): OPS_ONLY,
        # the money loop (docs/billing.md): a CFA invoices, the OPCO addressed decides and pays
        ("get", "/v1/financing/invoiceable"): policy(OK, OK, 403, 403, 403),
        ("post", "/v1/financing/invoices"): policy(OK, OK, 403, 403, 403),   # another CFA's advance: 422
        ("get", "/v1/financing/invoices"): ANY,
        ("get", "/v1/financing/invoices/{invoice_id}"): OWN_READ,
        ("get", "/v1/financing/invoices/{invoice_id}.html"): OWN_READ,
        ("post", "/v1/financing/invoices/{invoice_id}/certificates"): policy(OK, 404, 403, 403, 403),
        ("post", "/v1/financing/invoices/{invoice_id}/cancellation"): policy(OK, 404, 403, 403, 403),
        ("post", "/v1/financing/invoices/{invoice_id}/acceptance"): policy(403, 403, OK, 404, 403),
        ("post", "/v1/financing/invoices/{invoice_id}/rejection"): policy(403, 403, OK, 404, 403),
        ("post", "/v1/financing/payments"): policy(403, 403, OK, OK, 403),
        ("post", "/v1/financing/payments/{payment_id}/allocations"): policy(403, 403, OK, 404, 403),
        ("get", "/v1/financing/balances"): ANY,
        ("get", "/v1/financing/reconciliation"): ANY,
    },
    "quality": {
        ("get", "/v1/events"): OPS_ONLY,
        **{(m, f"/v1/quality/{c}"): CFA_OWN for c in COLLECTIONS for m in ("get", "post")},
        **{("get", f"/v1/quality/{c}/{{record_id}}"): CFA_RECORD for c in COLLECTIONS},
        ("post", "/v1/quality/complaints/{record_id}/steps"): CFA_RECORD,
        ("post", "/v1/quality/incidents/{record_id}/report"): CFA_RECORD,
        ("post", "/v1/quality/measures/{record_id}/updates"): CFA_RECORD,
        ("post", "/v1/quality/councils/{record_id}/minutes"): CFA_RECORD,
        ("get", "/v1/quality/councils/{record_id}/minutes.html"): CFA_RECORD,
        ("post", "/v1/quality/absences"): CFA_OWN, ("post", "/v1/quality/absences/bulk"): CFA_OWN,
        ("get", "/v1/quality/absences"): CFA_OWN, ("get", "/v1/quality/dashboard"): CFA_OWN,
        ("get", "/v1/quality/audit-pack"): CFA_OWN,
    },
    "webhooks": {
        ("get", "/v1/webhooks/event-types"): ANY,
        ("post", "/v1/webhooks"): ANY,          # each key registers its own organisation's endpoints
        ("get", "/v1/webhooks"): ANY,           # and lists them (ops: all)
        **{(m, "/v1/webhooks/{endpoint_id}"): ENDPOINT for m in ("get", "patch", "delete")},
        ("get", "/v1/webhooks/{endpoint_id}/deliveries"): ENDPOINT,
        ("post", "/v1/webhooks/{endpoint_id}/replay"): ENDPOINT,
        ("post", "/v1/webhooks/{endpoint_id}/secret-rotation"): ENDPOINT,
    },
}


def example_body(op: dict):
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = content.get("examples") or {}
    return next(iter(examples.values()))["value"] if examples else {}


def classify(status: int) -> object:
    return status if status in (401, 403, 404) else OK


async def cfa_a_endpoint(webhooks, keys) -> str:
    r = await webhooks.post("/v1/webhooks", headers=Keys.header(keys.cfa_a), json={
        "url": "http://127.0.0.1:9/matrix", "event_types": ["invoice.*"], "description": "matrix"})
    assert r.status_code == 201, r.text
    return r.json()["endpoint_id"]


@pytest.fixture
async def world(contracts, financing, quality, webhooks, keys, engine):
    api = ContractsApi(contracts, keys)
    apprentice = f"app-matrix-{secrets.token_hex(4)}"   # a world of its own each test: one contract at a time
    cid = (await api.sign(apprentice={"id": apprentice, "birth_date": "2005-03-14"}))["contract_id"]
    await api.transmit(cid)
    async with engine.begin() as conn:
        key_id, revoked = await create_key(conn, "ops", "ops")
        await revoke_key(conn, key_id)

    async def projected():
        r = await financing.get(f"/v1/financing/contracts/{cid}", headers=Keys.header(keys.ops))
        return r.status_code == 200
    await eventually(projected, what="the contract in the financing projection")
    params = {"contract_id": cid, "apprentice_id": apprentice, "code": "ATLAS",
              "event_type": "contract.signed", "version": "1", **await paid_in_part(financing, keys, cid)}
    spec = (await quality.get("/openapi.json")).json()
    for collection in COLLECTIONS:  # one record of each kind, CFA A's
        body = example_body(spec["paths"][f"/v1/quality/{collection}"]["post"])
        r = await quality.post(f"/v1/quality/{collection}", json=body, headers=Keys.header(keys.cfa_a))
        params[collection] = r.json()["id"]
    params["endpoint_id"] = await cfa_a_endpoint(webhooks, keys)
    return {"contracts": contracts, "financing": financing, "quality": quality, "webhooks": webhooks}, params, revoked


async def paid_in_part(financing, keys, cid) -> dict:
    """CFA A's invoice of the contract's first advance, accepted by ATLAS and paid in part by a
    payment that leaves something to allocate: its ``invoice_id`` and ``payment_id``."""
    r = await financing.post("/v1/financing/invoices", headers=Keys.header(keys.cfa_a), json={
        "opco": "ATLAS", "lines": [{"contract_id": cid, "funding_year": 1, "advance": 1}],
        "certificates": [{"kind": "realisation", "contract_id": cid, "funding_year": 1, "advance": 1,
                          "period_start": "2024-09-28", "period_end": "2024-10-31", "hours": "70",
                          "reference": "CR-matrix"}]})
    assert r.status_code == 201, r.text
    invoice = r.json()
    r = await financing.post(f"/v1/financing/invoices/{invoice['invoice_id']}/acceptance",
                             headers=Keys.header(keys.opco_x), json={})
    assert r.status_code == 200, r.text
    r = await financing.post("/v1/financing/payments", headers=Keys.header(keys.opco_x), json={
        "cfa_uai": invoice["cfa_uai"], "amount": "10.00", "paid_on": "2025-01-10",
        "bank_reference": f"VIR-matrix-{secrets.token_hex(4)}",
        "allocations": [{"invoice_id": invoice["invoice_id"], "amount": "5.00"}]})
    assert r.status_code == 201, r.text
    return {"invoice_id": invoice["invoice_id"], "payment_id": r.json()["payment_id"]}


async def test_every_operation_against_every_role(world, keys, webhooks):
    clients, params, revoked = world
    failures = []
    for service, client in clients.items():
        spec = (await client.get("/openapi.json")).json()
        operations = {(m, p): op for p, ops in spec["paths"].items() if p.startswith("/v1/")
                      for m, op in ops.items()}
        assert set(operations) == set(POLICIES[service]), f"{service}: write the policy of every new endpoint"
        for (method, path), op in operations.items():
            record = params.get(path.split("/")[3]) if "{record_id}" in path else None
            url = path.format(**params, record_id=record)
            query = {"from": "2024-01-01", "to": "2026-12-31"} if any(
                name in path for name in ("commitments", "audit-pack", "/v1/financing/reconciliation")) else None
            if path.endswith("/replay"):
                query = {"from": "1"}
            body = {} if path.endswith("/npec") else example_body(op)
            if path.endswith("/fees"):
                body = {**body, "contract_id": params["contract_id"]}
            for who, expected in [("none", 401), ("revoked", 401), *POLICIES[service][(method, path)].items()]:
                headers = {} if who == "none" else Keys.header(revoked if who == "revoked" else getattr(keys, who))
                kwargs = {"headers": headers, "params": query}
                if (method, path) == ("delete", "/v1/webhooks/{endpoint_id}"):   # each role deletes one of its own
                    url = path.format(endpoint_id=await cfa_a_endpoint(webhooks, keys))
                if method in ("post", "put", "patch"):
                    kwargs["json"] = body
                r = await client.request(method.upper(), url, **kwargs)
                if classify(r.status_code) != expected:
                    failures.append(f"{service} {method.upper()} {path} as {who}: {r.status_code}, expected {expected}")
                if r.status_code >= 400:
                    assert r.headers["content-type"] == "application/problem+json", (path, who)
                    assert "Traceback" not in r.text
    assert not failures, "\n".join(failures)


async def test_lists_and_projections_are_scoped(world, keys, contracts, financing):
    clients, params, _ = world
    for key, visible in [(keys.cfa_a, True), (keys.cfa_b, False), (keys.opco_x, True), (keys.opco_y, False)]:
        items = (await contracts.get("/v1/contracts?limit=500", headers=Keys.header(key))).json()["items"]
        assert (params["contract_id"] in {c["contract_id"] for c in items}) == visible
        for c in items:
            assert key != keys.cfa_b or c["cfa_uai"] == "0931234L"
            assert key != keys.opco_y or c["opco"] == "AKTO"
