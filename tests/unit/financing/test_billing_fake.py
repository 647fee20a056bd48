"""The in-memory billing port (tests/unit/financing/fakes.py FakeBilling) behaves as SqlBilling
(services/financing/adapters/billing_store.py): numbers given back by a rollback and never
lowered, the store's expected versions, the accounts by UAI or SIRET, the advances joined to their
funding year, the contract events that changed a year, the unique indexes of the folded rows, the
invoices' keyset paging."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.financing.application.unit_of_work import AlreadyBilled, FeeRecord, PathEvent, StreamChanged
from services.financing.domain.billing import Invoice, Line, Payment, ledger_key
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.test_billing_handlers import SIRET, UAI, funding_year, stored

D = Decimal
AT = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)


def uow_with_advances() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.now = AT
    uow.tables.years = [funding_year(regime="R2025"), funding_year("c2", regime="R2019")]
    uow.tables.advances = [stored(4, "800.00", date(2025, 8, 31), latest_on=date(2025, 12, 31)),
                           stored(1, "2450.00", date(2025, 1, 1), employer_contribution=D("750.00")),
                           stored(1, "4000.00", date(2024, 11, 11), contract="c2", opco="AKTO"),
                           stored(4, "100.00", date(2025, 8, 31), contract="c2", opco="AKTO"),
                           stored(1, "10.00", date(2025, 1, 1), contract="c3")]          # no funding year
    return uow


def invoice(invoice_id: str, *lines: Line, number=None, status="issued", opco="ATLAS", issued_on=date(2025, 3, 3),
            cfa_siret=SIRET) -> Invoice:
    return Invoice(invoice_id, number or f"F-{invoice_id}", UAI, cfa_siret, opco, issued_on, issued_on, lines, status)


ADV = Line("advance", D("100.00"), "c1", 1, 1)
FEE = Line("fee", D("6.00"), "c1", 1, 1, claim_id="claim-1")
REG = Line("regularisation", D("-1.00"), "c1", 1, 1, regularisation_id="r1")


async def test_a_number_is_given_back_by_a_rollback_and_never_lowered():
    uow = FakeUnitOfWork()
    async with uow:
        assert await uow.billing.next_number(UAI, 2025) == 1
        assert await uow.billing.next_number(UAI, 2025) == 2
    async with uow:
        assert await uow.billing.next_number(UAI, 2025) == 1
        assert await uow.billing.next_number(UAI, 2026) == 1
        await uow.commit()
    async with uow:
        await uow.billing.set_numbers({(UAI, 2025): 7, (UAI, 2026): 0, ("other", 2025): 3})
        await uow.commit()
    assert uow.tables.document_numbers == {(UAI, 2025): 7, (UAI, 2026): 1, ("other", 2025): 3}


async def test_appends_check_every_expected_version_all_or_nothing():
    uow = FakeUnitOfWork()
    uow.now = AT
    first = await uow.billing.append([("invoice-1", 0, [("invoice.issued", {"n": 1}), ("invoice.accepted", {})]),
                                      ("payment-1", 0, [("payment.recorded", {})])], "L", "k")
    assert [(e.stream_id, e.position, e.recorded_at) for e in first] == [
        ("invoice-1", 1, AT), ("invoice-1", 2, AT), ("payment-1", 3, AT)]
    assert {(e.ledger, e.actor, e.version) for e in uow.tables.money_events} == {("L", "k", 1), ("L", "k", 2)}
    with pytest.raises(StreamChanged):
        await uow.billing.append([("payment-1", 1, [("payment.allocated", {})]),
                                  ("invoice-1", 1, [("payment.allocated", {})])], "L", "k")
    with pytest.raises(StreamChanged):     # one stream twice at the same version: the unique index
        await uow.billing.append([("reg-1", 0, [("regularisation.settled", {})]),
                                  ("reg-1", 0, [("regularisation.settled", {})])], "L", "k")
    assert len(uow.tables.money_events) == 3
    assert await uow.billing.append([("invoice-1", 5, [])], "L", "k") == []   # nothing to write, nothing checked
    assert [e.type for e in await uow.billing.stream("invoice-1")] == ["invoice.issued", "invoice.accepted"]
    assert await uow.billing.streams(["invoice-1", "none"]) == {
        "invoice-1": await uow.billing.stream("invoice-1"), "none": []}


async def test_events_are_read_by_account_and_as_they_were():
    uow = FakeUnitOfWork()
    for n, ledger in enumerate(["A:ATLAS", "B:ATLAS", "A:ATLAS"]):
        uow.now = AT + timedelta(hours=n)
        await uow.billing.append([(f"invoice-{n}", 0, [("invoice.issued", {})])], ledger, "k")
    assert [e.stream_id for e in await uow.billing.ledger_events(["A:ATLAS"])] == ["invoice-0", "invoice-2"]
    assert [e.stream_id for e in await uow.billing.ledger_events(["A:ATLAS", "B:ATLAS"], AT + timedelta(hours=1))] \
        == ["invoice-0", "invoice-1"]
    assert await uow.billing.stream("invoice-2", AT + timedelta(minutes=119)) == []


async def test_the_accounts_of_a_cfa_by_uai_or_siret_and_of_an_opco():
    uow = uow_with_advances()
    assert await uow.billing.ledgers(None, None) == [(UAI, "AKTO"), (UAI, "ATLAS")]
    assert await uow.billing.ledgers(SIRET, None) == await uow.billing.ledgers(UAI, None)
    assert await uow.billing.ledgers(UAI, "ATLAS") == [(UAI, "ATLAS")]
    assert await uow.billing.ledgers("other", None) == []
    await uow.billing.save(payments=[Payment("p1", "OPCO2", UAI, D("1.00"), date(2025, 3, 3), "VIR")])
    assert await uow.billing.ledgers(UAI, "OPCO2") == [(UAI, "OPCO2")]   # a payment's account before any invoice
    assert await uow.billing.ledgers(SIRET, "OPCO2") == []                 # payments are matched by UAI only
    await uow.billing.save([(invoice("i1", ADV, opco="OPCO3"), 1)])
    assert (UAI, "OPCO3") in await uow.billing.ledgers(SIRET, None)


async def test_advances_are_read_with_their_regime_and_the_attestation_they_need():
    uow = uow_with_advances()
    found = await uow.billing.advances_at([("c1", 1, 4), ("c2", 1, 4), ("c3", 1, 1), ("c1", 1, 9)])
    assert set(found) == {("c1", 1, 4), ("c2", 1, 4)}                    # c3 has no funding year
    assert found[("c1", 1, 4)].needs_completion_attestation               # the R2025 balance
    assert not found[("c2", 1, 4)].needs_completion_attestation           # R2019
    of = await uow.billing.advances_of([(UAI, "ATLAS")])
    assert [(a.key, a.employer_contribution) for a in of] == [(("c1", 1, 1), D("750.00")), (("c1", 1, 4), None)]
    assert await uow.billing.advances_of([]) == [] and await uow.billing.advances_at([]) == {}


async def test_fees_on_advances_in_date_order():
    uow = uow_with_advances()
    fee = FeeRecord("f1", "a1", "c1", "ATLAS", UAI, "night", date(2025, 1, 10), 1, D("6.00"), 1, 2)
    uow.tables.fees = [(replace(fee, claim_id="f2", kind="meal"), AT), (fee, AT),
                       (replace(fee, claim_id="f0", day=date(2025, 1, 9)), AT), (replace(fee, advance=3), AT)]
    assert [f.claim_id for f in await uow.billing.fees_on([("c1", 1, 2)])] == ["f0", "f2", "f1"]
    assert await uow.billing.fees_on([]) == []


async def test_the_changes_since_a_moment_name_their_date_and_skip_the_signature_steps():
    uow = FakeUnitOfWork()
    early, late = AT - timedelta(days=1), AT + timedelta(days=1)
    uow.tables.events = [
        PathEvent("e1", "a1", "c1", 1, "contract.ruptured", {"ruptured_on": "2025-01-15"}, early),
        PathEvent("e2", "a1", "c1", 2, "contract.deposited", {"deposited_on": "2025-01-20"}, late),
        PathEvent("e3", "a1", "c1", 3, "contract.amended", {"reason": "x", "effective_on": "2025-02-01",
                                                            "other_on": "2025-03-01"}, late),
        PathEvent("e4", "a1", "c1", 4, "contract.funding_accepted", {"annual_funding_level": "1"}, late),
        PathEvent("e5", "a2", "c2", 1, "contract.ruptured", {"ruptured_on": "2025-01-15"}, late)]
    assert await uow.billing.changes_since(["c1"], AT) == [
        {"event_id": "e3", "type": "contract.amended", "contract_id": "c1", "on": "2025-02-01"},
        {"event_id": "e4", "type": "contract.funding_accepted", "contract_id": "c1", "on": None}]


async def test_a_line_is_on_one_active_invoice_at_most():
    uow = FakeUnitOfWork()
    await uow.billing.save([(invoice("i1", ADV, FEE, REG), 1)])
    for lines in ((replace(ADV, amount=D("50.00")),), (replace(FEE, advance=2),), (replace(REG, advance=2),)):
        with pytest.raises(AlreadyBilled) as caught:
            await uow.billing.save([(invoice("i2", *lines), 2)])
        assert caught.value.what == "line"
    with pytest.raises(AlreadyBilled):                     # twice in one invoice
        await uow.billing.save([(invoice("i3", Line("advance", D("1"), "c9", 1, 1),
                                         Line("advance", D("2"), "c9", 1, 1)), 3)])
    await uow.billing.save([(invoice("i1", ADV, FEE, REG, status="cancelled"), 1)])    # its lines freed
    await uow.billing.save([(invoice("i2", ADV, FEE, REG), 2)])
    await uow.billing.save([(invoice("i2", ADV, FEE, REG, status="accepted"), 2)])     # rewritten with it
    assert sorted((l.invoice_id, l.active) for l in uow.tables.invoice_lines) == [
        ("i1", False), ("i1", False), ("i1", False), ("i2", True), ("i2", True), ("i2", True)]


async def test_one_payment_per_opco_and_bank_reference():
    uow = FakeUnitOfWork()
    p = Payment("p1", "ATLAS", UAI, D("1.00"), date(2025, 3, 3), "VIR-1")
    await uow.billing.save(payments=[p])
    await uow.billing.save(payments=[replace(p, allocations=({"invoice_id": "i", "amount": "1.00"},))])   # upsert
    await uow.billing.save(payments=[replace(p, payment_id="p2", opco="AKTO")])
    with pytest.raises(AlreadyBilled) as caught:
        await uow.billing.save(payments=[replace(p, payment_id="p3")])
    assert caught.value.what == "payment"
    with pytest.raises(AlreadyBilled):
        await uow.billing.save(payments=[replace(p, payment_id="p4", bank_reference="VIR-2"),
                                         replace(p, payment_id="p5", bank_reference="VIR-2")])
    assert set(uow.tables.payments) == {"p1", "p2"} and uow.tables.payments["p1"].allocated == D("1.00")
    assert await uow.billing.payment_with_reference("ATLAS", "VIR-1") == "p1"
    assert await uow.billing.payment_with_reference("ATLAS", "VIR-9") is None


async def test_invoices_are_paged_in_issue_order_and_filtered():
    uow = FakeUnitOfWork()
    rows = [(invoice(f"i{n}", Line("advance", D("1"), f"c{n}", 1, 1), opco="ATLAS" if n % 2 else "AKTO",
                     status="accepted" if n == 3 else "issued", issued_on=date(2025, 3, n),
                     cfa_siret=None if n == 5 else SIRET), 10 * n) for n in range(1, 6)]
    await uow.billing.save(rows[::-1])

    async def page(after=0, limit=10, **filters):
        args = {"cfa": None, "opco": None, "status": None, "cfa_uai": None, "issued_from": None, "issued_to": None}
        found = await uow.billing.invoice_documents(**{**args, **filters}, after_seq=after, limit=limit)
        return [(seq, doc["invoice_id"]) for seq, doc in found]

    assert await page(limit=2) == [(10, "i1"), (20, "i2")]
    assert await page(20, 2) == [(30, "i3"), (40, "i4")]
    assert await page(50) == []
    assert await page(opco="ATLAS") == [(10, "i1"), (30, "i3"), (50, "i5")]
    assert await page(status="accepted") == [(30, "i3")]
    assert await page(cfa=SIRET) == [(10, "i1"), (20, "i2"), (30, "i3"), (40, "i4")]
    assert await page(cfa=UAI, cfa_uai="other") == []
    assert await page(issued_from=date(2025, 3, 2), issued_to=date(2025, 3, 3)) == [(20, "i2"), (30, "i3")]
    with pytest.raises(ValueError):                        # billing_invoices.number is unique
        await uow.billing.save([(invoice("i9", ADV, number="F-i1"), 90)])


async def test_the_unit_of_work_gives_the_billing_rows_back_on_rollback():
    uow = FakeUnitOfWork()
    async with uow:
        await uow.billing.append([("invoice-1", 0, [("invoice.issued", {})])], ledger_key(UAI, "ATLAS"), "k")
        await uow.billing.save([(invoice("i1", ADV), 1)], [Payment("p1", "ATLAS", UAI, D("1"), AT.date(), "V")])
    assert (uow.tables.money_events, uow.tables.invoices, uow.tables.invoice_lines, uow.tables.payments) == (
        [], {}, [], {})
