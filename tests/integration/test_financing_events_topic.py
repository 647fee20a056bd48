"""The financing service's relay publishes its store on financing.events: money events appended
with the store (as the billing adapter appends them) and a frais annexes event arrive as
structured CloudEvents the official SDK parses, keyed by their partitionkey (the account
UAI:OPCO, the apprentice), in order per key, and their data validates against the JSON Schemas
the contracts service serves. The store is a database of this test's own (``isolated``): nothing
it appends reaches the session's projections."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import jsonschema
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings import kafka as ce_kafka
from sqlalchemy import text

from contract_events.financing_catalogue import FINANCING_CATALOGUE
from services.financing.adapters.billing_store import SqlBilling
from services.financing.adapters.fee_claims_store import SqlFeeClaims
from services.financing.api.app import create_app
from services.financing.domain.billing import (Certificate, Line, document_number, invoice_stream, ledger_key,
                                               money, payment_stream)
from shared.messaging.topics import FINANCING_EVENTS
from tests.support import Keys, eventually, running

UAI, SIRET, OPCO = "0751234J", "98765432400019", "ATLAS"


def money_events(contract_id: str) -> tuple[list, str]:
    """An invoice issued with its certificate, accepted, paid by a payment allocated to it: the
    appends (stream, expected version, events) as the application writes them."""
    invoice_id, payment_id = str(uuid.uuid4()), str(uuid.uuid4())
    lines = [Line("advance", Decimal("2800.00"), contract_id, 1, 1, label="Avance 1, année de financement 1",
                  employer_contribution=Decimal("750.00"))]
    certificate = Certificate(str(uuid.uuid4()), "realisation", "intermediate", contract_id, 1, 1, date(2024, 9, 1),
                              date(2025, 1, 31), Decimal("70"), "CR-2025-0042", date(2025, 3, 3))
    issued = {"invoice_id": invoice_id, "number": document_number("F", UAI, 2025, 1), "cfa_uai": UAI,
              "cfa_siret": SIRET, "opco": OPCO, "issued_on": "2025-03-03", "payment_due_on": "2025-04-02",
              "lines": [l.as_dict() for l in lines], "total": money(sum(l.amount for l in lines))}
    allocated = {"invoice_id": invoice_id, "payment_id": payment_id, "amount": "2800.00", "paid_on": "2025-03-20"}
    recorded = {"payment_id": payment_id, "opco": OPCO, "cfa_uai": UAI, "amount": "2800.00", "paid_on": "2025-03-20",
                "bank_reference": f"VIR-{payment_id[:8]}", "allocations": [{"invoice_id": invoice_id,
                                                                            "amount": "2800.00"}]}
    first = [(invoice_stream(invoice_id), 0, [
        ("invoice.issued", issued),
        ("invoice.certificate_attached", {"invoice_id": invoice_id, "certificate": certificate.as_dict()})])]
    accepted = [(invoice_stream(invoice_id), 2, [("invoice.accepted", {"invoice_id": invoice_id,
                                                                       "decided_on": "2025-03-10"})])]
    paid = [(payment_stream(payment_id), 0, [("payment.recorded", recorded)]),
            (invoice_stream(invoice_id), 3, [("payment.allocated", allocated)])]
    return [first, accepted, paid], invoice_id


async def read_until(settings, wanted: set[str]) -> list:
    """The records of financing.events from the first offset until every id of ``wanted`` is in."""
    consumer = AIOKafkaConsumer(settings.topic(FINANCING_EVENTS), bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    records, seen = [], set()
    try:
        async def all_in():
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                for r in recs:
                    records.append(r)
                    seen.add(ce_kafka.from_structured_event(_message(r)).get_id())
            return wanted <= seen
        await eventually(all_in, timeout=30, what="the financing events on financing.events")
    finally:
        await consumer.stop()
    return records


def _message(record) -> ce_kafka.KafkaMessage:
    return ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)


async def test_money_and_fee_events_arrive_on_financing_events_as_cloudevents(isolated, contracts, keys):
    settings, engine = isolated
    contract_id, apprentice = str(uuid.uuid4()), f"app-{uuid.uuid4().hex[:8]}"
    batches, invoice_id = money_events(contract_id)
    async with running(create_app(settings)) as financing:
        ids: list[str] = []
        for appends in batches:          # one transaction each, as each command commits
            async with engine.begin() as conn:
                ids += [e.event_id for e in await SqlBilling(conn).append(appends, ledger_key(UAI, OPCO), "k-test")]
        async with engine.begin() as conn:
            await SqlFeeClaims(conn).record(apprentice, "fees.claimed", {
                "claim_id": str(uuid.uuid4()), "contract_id": contract_id, "kind": "meal", "date": "2025-01-10",
                "quantity": 2, "billed_contract_id": contract_id, "opco": OPCO, "amount": "6.00",
                "invoice": {"funding_year": 1, "advance": 2}}, "k-test")
            fee_id = str((await conn.execute(text("SELECT event_id FROM financing.events WHERE stream_id = :s"),
                                             {"s": f"fees-{apprentice}"})).scalar_one())
        records = await read_until(settings, set(ids) | {fee_id})
        relay = financing.app.state.relay
        assert relay.topic == settings.topic(FINANCING_EVENTS)
        await eventually(lambda: _zero(relay), what="the relay's backlog to drain")

    schemas: dict[str, dict] = {}
    mine = []
    for record in records:
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json; charset=UTF-8"
        event = ce_kafka.from_structured_event(_message(record))
        if event.get_id() not in set(ids) | {fee_id}:
            continue
        mine.append(event)
        assert event.get_specversion() == "1.0" and event.get_source() == "/parcours/financing"
        assert event.get_extension("partitionkey") == record.key.decode()
        if event.get_type() not in schemas:
            r = await contracts.get(f"/v1/schemas/events/{event.get_type()}/1", headers=Keys.header(keys.opco_y))
            assert r.status_code == 200, r.text
            schemas[event.get_type()] = r.json()
        assert event.get_dataschema() == schemas[event.get_type()]["$id"]
        jsonschema.validate(event.get_data(), schemas[event.get_type()])
        FINANCING_CATALOGUE[event.get_type()][0].model_validate(event.get_data())
    assert len(mine) == len(ids) + 1
    money_records = [e for e in mine if e.get_type() != "fees.claimed"]
    assert {e.get_extension("partitionkey") for e in money_records} == {f"{UAI}:{OPCO}"}
    fee, = [e for e in mine if e.get_type() == "fees.claimed"]
    assert (fee.get_extension("partitionkey"), fee.get_subject()) == (apprentice, f"fees-{apprentice}")
    # one account's events, in one partition, in the order they were committed
    assert [e.get_id() for e in money_records] == ids
    on_invoice = [(e.get_type(), e.get_extension("sequence")) for e in money_records
                  if e.get_subject() == invoice_stream(invoice_id)]
    assert on_invoice == [("invoice.issued", "1"), ("invoice.certificate_attached", "2"), ("invoice.accepted", "3"),
                          ("payment.allocated", "4")]
    assert len({r.partition for r in records if ce_kafka.from_structured_event(_message(r)).get_id() in ids}) == 1


async def _zero(relay) -> bool:
    return await relay.backlog() == 0


async def test_the_schemas_index_and_asyncapi_list_financing_events(contracts, keys):
    r = await contracts.get("/v1/schemas/events?topic=financing.events", headers=Keys.header(keys.cfa_a))
    assert r.status_code == 200
    index = r.json()
    assert index["topic"] == "financing.events"
    assert {e["type"] for e in index["event_types"]} == set(FINANCING_CATALOGUE)
    for entry in index["event_types"]:
        schema = (await contracts.get(entry["url"], headers=Keys.header(keys.cfa_a))).json()
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == entry["dataschema"]
    default = (await contracts.get("/v1/schemas/events", headers=Keys.header(keys.cfa_a))).json()
    assert default["topic"] == "contracts.events" and not set(FINANCING_CATALOGUE) & {
        e["type"] for e in default["event_types"]}
    assert (await contracts.get("/v1/schemas/events?topic=nope", headers=Keys.header(keys.cfa_a))).status_code == 422
    assert (await contracts.get("/v1/schemas/events/invoice.issued/2", headers=Keys.header(keys.cfa_a))
            ).status_code == 404

    doc = (await contracts.get("/asyncapi.json")).json()
    channel = doc["channels"]["financing.events"]
    messages = channel["subscribe"]["message"]["oneOf"]
    assert {m["name"] for m in messages} == set(FINANCING_CATALOGUE)
    for m in messages:
        assert m["payload"]["properties"]["source"] == {"const": "/parcours/financing"}
        ref = m["payload"]["properties"]["data"]["$ref"]
        assert ref == f"#/components/schemas/{m['name'].replace('.', '_')}"

    def resolve(pointer: str):
        node = doc
        for part in pointer.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def every_ref(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from every_ref(v)
        elif isinstance(node, list):
            for v in node:
                yield from every_ref(v)
    for ref in every_ref(doc):       # every reference resolves in the document (components' $defs included)
        assert resolve(ref) is not None, ref
