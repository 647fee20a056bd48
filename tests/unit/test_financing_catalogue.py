"""The published models of financing.events (contract_events/financing_catalogue.py) validate the
data the financing service really writes: the money loop's commands (issue, certificate, accept,
reject, cancel, pay, allocate, regularise) run against the in-memory unit of work (tests/unit/financing/fakes.py), the frais
annexes against the in-memory financing ports; every event they append is checked against its
model and its served JSON Schema."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import jsonschema
import pytest
from pydantic import ValidationError

from contract_events.financing_catalogue import FINANCING_CATALOGUE, FINANCING_VERSIONS, financing_model_of
from kernel.access import Principal
from kernel.errors import Refused
from services.contracts.api.schemas import financing_event_schema, financing_versions
from services.financing.application import invoicing, payments
from services.financing.application.apply_contract_events import apply_contract_events
from services.financing.application.claim_fee import FeeClaim, claim_fee
from services.financing.application.regularisations import propose
from services.financing.application.unit_of_work import FeeRecord, FundingYear, PathEvent, StoredAdvance
from services.financing.domain.billing import EVENT_TYPES, Certificate, fold_invoice, fold_payment, \
    fold_regularisations, ledger_key
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import CFA_BY_UAI as FEE_CFA, History

UAI, SIRET, OPCO = "0751234J", "98765432400019", "ATLAS"
CFA, ATLAS = Principal("k-cfa", "cfa", UAI), Principal("k-atlas", "opco", OPCO)
TODAY = date(2025, 3, 3)
FEE_TYPES = {"fees.claimed", "fees.refused"}


def certificate(n: int, kind="realisation", hours="70") -> Certificate:
    return Certificate(str(uuid.uuid4()), kind, "intermediate", "c1", 1, n, date(2024, 9, 1), date(2025, 1, 31),
                       Decimal(hours), f"CR-2025-{n:04d}", TODAY)


@pytest.fixture
async def money_loop() -> FakeUnitOfWork:
    """Every act of the money loop, as the application writes it (on the in-memory unit of work)."""
    uow = FakeUnitOfWork()
    uow.tables.years = [FundingYear("c1", 1, "a1", OPCO, UAI, date(2024, 9, 1), date(2025, 8, 31), 12, "months",
                                    Decimal("4000.00"), "R2019", "funded", None, "opco_decision")]
    uow.tables.advances = [
        StoredAdvance("c1", 1, 1, "a1", OPCO, UAI, SIRET, Decimal("2800.00"), date(2024, 9, 1), None,
                      Decimal("750.00")),
        StoredAdvance("c1", 1, 2, "a1", OPCO, UAI, SIRET, Decimal("1200.00"), date(2025, 1, 1), None)]
    uow.tables.fees = [(FeeRecord(str(uuid.uuid4()), "a1", "c1", OPCO, UAI, "meal", date(2025, 1, 10), 2,
                                  Decimal("6.00"), 1, 2), uow.now)]
    first = await invoicing.issue_invoice(uow, CFA, OPCO, [invoicing.AdvanceAsked("c1", 1, 1)], [certificate(1)], TODAY)
    first = await invoicing.attach_certificate(uow, CFA, first["invoice_id"], certificate(1, hours="7.50"),
                                               first["version"], TODAY)
    await invoicing.decide_invoice(uow, ATLAS, first["invoice_id"], True, TODAY, None, None, None)
    paid = await payments.record_payment(uow, ATLAS, UAI, Decimal("2800.00"), TODAY, "VIR-1",
                                         [payments.Allocation(first["invoice_id"], Decimal("2000.00"))], TODAY)
    await payments.allocate(uow, ATLAS, paid["payment_id"], [payments.Allocation(first["invoice_id"],
                                                                                 Decimal("800.00"))])
    # a rupture shrank the first advance after it was invoiced and paid
    uow.now += timedelta(seconds=1)
    uow.tables.events.append(PathEvent(str(uuid.uuid4()), "a1", "c1", 5, "contract.ruptured",
                                       {"ruptured_on": "2025-02-14"}, uow.now))
    uow.tables.advances[0] = replace(uow.tables.advances[0], amount=Decimal("2000.00"))
    assert await propose(uow, TODAY) == 1
    second = await invoicing.issue_invoice(uow, CFA, OPCO, [invoicing.AdvanceAsked("c1", 1, 2)], [certificate(2)],
                                           TODAY)   # nets the regularisation
    assert {l["kind"] for l in second["lines"]} == {"advance", "fee", "regularisation"}
    await invoicing.decide_invoice(uow, ATLAS, second["invoice_id"], False, TODAY, "amount_incorrect", None, None)
    third = await invoicing.issue_invoice(uow, CFA, OPCO, [invoicing.AdvanceAsked("c1", 1, 2, Decimal("1000.00"))],
                                          [], TODAY)
    await invoicing.decide_invoice(uow, ATLAS, third["invoice_id"], False, TODAY, "other", "Avance 2\tattendue", None)
    fourth = await invoicing.issue_invoice(uow, CFA, OPCO, [invoicing.AdvanceAsked("c1", 1, 2)], [], TODAY)
    await invoicing.cancel_invoice(uow, CFA, fourth["invoice_id"], "wrong amount", None, TODAY)
    return uow


def written(uow: FakeUnitOfWork) -> list[tuple[str, str, dict]]:
    return [(e.stream_id, e.type, e.data) for e in uow.tables.money_events]


def test_the_catalogue_is_every_event_the_financing_store_holds():
    assert set(FINANCING_CATALOGUE) == set(EVENT_TYPES) | FEE_TYPES
    assert all(FINANCING_VERSIONS[t] == 1 and financing_model_of(t, 1) is not None for t in FINANCING_CATALOGUE)
    assert financing_model_of("invoice.issued", 2) is None and financing_model_of("contract.signed", 1) is None
    assert set(financing_versions()) == {(t, 1) for t in FINANCING_CATALOGUE}


def test_every_model_has_a_docstring():
    for event_type, (model, description) in FINANCING_CATALOGUE.items():
        assert model.__doc__ and description, event_type


async def test_every_money_event_written_validates_against_its_model_and_its_schema(money_loop):
    events = written(money_loop)
    assert {t for _, t, _ in events} == set(EVENT_TYPES)
    schemas = {t: financing_event_schema(t, 1) for t in EVENT_TYPES}
    for stream, event_type, data in events:
        FINANCING_CATALOGUE[event_type][0].model_validate(data)
        jsonschema.validate(data, schemas[event_type])
    # the allocation made after the payment is written on both streams
    allocated = [s.split("-", 1)[0] for s, t, _ in events if t == "payment.allocated"]
    assert sorted(allocated) == ["invoice", "invoice", "payment"]


async def test_the_folds_read_back_what_the_models_describe(money_loop):
    """The models' data, dumped in JSON mode, fold to the same states as the data written."""
    by_stream: dict[str, list] = {}
    for stream, event_type, data in written(money_loop):
        dumped = FINANCING_CATALOGUE[event_type][0].model_validate(data).model_dump(mode="json", exclude_unset=True)
        assert dumped == data, event_type
        by_stream.setdefault(stream, []).append((event_type, data))
    for stream, pairs in by_stream.items():
        fold = fold_invoice if stream.startswith("invoice-") else fold_payment if stream.startswith("payment-") \
            else fold_regularisations
        assert fold(pairs)


async def test_the_events_of_one_account_share_its_key(money_loop):
    assert {e.ledger for e in money_loop.tables.money_events} == {ledger_key(UAI, OPCO)}


@pytest.mark.parametrize("event_type, change", [
    ("invoice.issued", {"total": "9.99"}),                                    # not the sum of the lines
    ("invoice.issued", {"total": "2800"}),                                    # two decimals
    ("invoice.issued", {"number": "2025-00001"}),
    ("invoice.issued", {"lines": []}),
    ("invoice.issued", {"surprise": 1}),                                      # writers are strict
    ("payment.recorded", {"amount": 2800.0}),                                 # money is a string
    ("payment.recorded", {"paid_on": "03/03/2025"}),
    ("invoice.rejected", {"motive": "late"}),
    ("invoice.certificate_attached", {"certificate": {"kind": "realisation"}}),
])
async def test_the_models_refuse_what_the_service_never_writes(money_loop, event_type, change):
    data = next(d for _, t, d in written(money_loop) if t == event_type)
    with pytest.raises(ValidationError):
        FINANCING_CATALOGUE[event_type][0].model_validate({**data, **change})


async def test_a_line_of_each_kind_has_its_own_fields(money_loop):
    issued = [d for _, t, d in written(money_loop) if t == "invoice.issued"]
    lines = {l["kind"]: l for d in issued for l in d["lines"]}
    model = FINANCING_CATALOGUE["invoice.issued"][0]
    base = issued[0]
    for kind, line in lines.items():
        wrong = {**line, "amount": "-1.00"} if kind != "regularisation" else {**line, "amount": "1.00"}
        with pytest.raises(ValidationError):
            model.model_validate({**base, "lines": [wrong], "total": wrong["amount"]})
    with pytest.raises(ValidationError):
        model.model_validate({**base, "lines": [{k: v for k, v in lines["fee"].items() if k != "claim_id"}],
                              "total": lines["fee"]["amount"]})


async def test_fee_events_validate_against_their_models_and_schemas():
    """fees.claimed and fees.refused as claim_fee records them (tests/unit/financing/test_claim_fee.py)."""
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.accepted("c1", "a1"), h.ruptured("c1", "a1"),
                                      *h.rehire("c1", "c2", "a1")], date(2025, 6, 1))
    await claim_fee(uow, FEE_CFA, FeeClaim("c1", "meal", date(2025, 1, 10), 2), date(2025, 6, 1))
    await claim_fee(uow, FEE_CFA, FeeClaim("c1", "first_equipment", date(2024, 9, 5), 1, Decimal("450.00")),
                    date(2025, 6, 1))
    with pytest.raises(Refused):
        await claim_fee(uow, FEE_CFA, FeeClaim("c1", "meal", date(2024, 8, 1)), date(2025, 6, 1))
    recorded = [(t, d) for _, t, d, _ in uow.tables.fee_events]
    assert {t for t, _ in recorded} == FEE_TYPES
    for event_type, data in recorded:
        FINANCING_CATALOGUE[event_type][0].model_validate(data)
        jsonschema.validate(data, financing_event_schema(event_type))


def test_the_served_schemas_are_2020_12_and_open_to_later_fields():
    for event_type in FINANCING_CATALOGUE:
        schema = financing_event_schema(event_type)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == event_type and schema["$id"] == f"urn:parcours:schemas:events/{event_type}/1"
        assert schema["additionalProperties"] is True
        assert all(d.get("additionalProperties", True) is True for d in schema.get("$defs", {}).values())
