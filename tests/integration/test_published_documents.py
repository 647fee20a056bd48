"""JSON Schemas of every event type, the AsyncAPI document and OpenAPI examples, as served."""
import jsonschema

from contract_events.catalogue import CATALOGUE
from tests.integration.lifecycle_api import ContractsApi
from tests.support import cerfa_body, Keys

H = Keys.header


async def walk_many_event_types(api: ContractsApi, keys) -> None:
    apprentice = {"id": "app-schemas", "birth_date": "2005-03-14"}
    cid = (await api.sign(apprentice=apprentice))["contract_id"]
    await api.transmit(cid)
    await api.accept(cid)
    await api.deposit(cid)
    await api.command(cid, "amendments", {"effective_on": "2025-01-01", "amendment_type": "37",
                                          "changes": {"planned_end_date": "2025-12-31"}}, keys.cfa_a)
    await api.rupture(cid)
    await api.sign(apprentice=apprentice, signed_on="2025-02-01", start_date="2025-02-03",
                   planned_end_date="2026-08-31", contract_type="23", previous_contract_id=cid)
    other = (await api.sign())["contract_id"]
    await api.command(other, "cancellation", {"cancelled_on": "2024-09-21", "motive": "withdrew"}, keys.cfa_a)


async def test_every_event_type_has_a_schema_and_recorded_events_validate(contracts, keys):
    await walk_many_event_types(ContractsApi(contracts, keys), keys)
    assert (await contracts.get("/v1/schemas/events")).status_code == 401
    index = (await contracts.get("/v1/schemas/events", headers=H(keys.opco_y))).json()["event_types"]
    assert {e["type"] for e in index} == set(CATALOGUE)
    schemas = {}
    for entry in index:
        r = await contracts.get(entry["url"], headers=H(keys.opco_y))
        assert r.status_code == 200
        schemas[entry["type"]] = r.json()
        jsonschema.Draft202012Validator.check_schema(r.json())
    feed = (await contracts.get("/v1/events?limit=5000", headers=H(keys.ops))).json()["events"]
    assert len({e["type"] for e in feed}) >= 8
    for ce in feed:
        jsonschema.validate(ce["data"], schemas[ce["type"]])
        assert ce["dataschema"] == schemas[ce["type"]]["$id"]
    assert (await contracts.get("/v1/schemas/events/contract.nope/1", headers=H(keys.ops))).status_code == 404


async def test_asyncapi_describes_contracts_events(contracts):
    doc = (await contracts.get("/asyncapi.json")).json()
    assert doc["asyncapi"].startswith("2.")
    channel = doc["channels"]["contracts.events"]
    refs = {m["$ref"].rsplit("/", 1)[-1] for m in channel["subscribe"]["message"]["oneOf"]}
    earlier = {"contract_signed_v1", "contract_amended_v1"}   # still in the log, read by upcasting
    assert refs == {t.replace(".", "_") for t in CATALOGUE} | earlier == set(doc["components"]["messages"])
    assert doc["components"]["messages"]["contract_signed_v1"]["payload"]["properties"]["dataschema"] == {
        "const": "urn:parcours:schemas:events/contract.signed/1"}
    for name, message in doc["components"]["messages"].items():
        assert message["payload"]["properties"]["data"]["$ref"] == f"#/components/schemas/{name}"
        assert name in doc["components"]["schemas"]


DOCUMENTS = {"text/html", "application/pdf", "text/csv"}


async def test_openapi_has_examples_for_every_endpoint_and_they_work(contracts, keys):
    spec = (await contracts.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in ops.items():
            if method == "post":
                content = op["requestBody"]["content"]["application/json"]
                assert content.get("examples"), (method, path)
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, (method, path)
            assert any("example" in op["responses"][c].get("content", {}).get("application/json", {})
                       or "examples" in op["responses"][c].get("content", {}).get("application/json", {})
                       or set(op["responses"][c].get("content", {})) & DOCUMENTS   # a page, a PDF, a CSV
                       for c in ok), (method, path)
    sign_example = spec["paths"]["/v1/contracts"]["post"]["requestBody"]["content"]["application/json"]
    body = next(iter(sign_example["examples"].values()))["value"]
    fresh = cerfa_body()   # the example as written, for a person of this test's own (one contract at a time)
    body = {**body, "apprentice": {**body["apprentice"], **{k: fresh["apprentice"][k] for k in ("nir", "birth_name")}},
            "masters": [{**body["masters"][0], "birth_name": fresh["masters"][0]["birth_name"]}]}
    r = await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
    assert r.status_code == 201, r.text
