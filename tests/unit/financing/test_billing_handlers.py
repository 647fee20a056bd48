"""The money loop's handlers (application/invoicing.py, payments.py, regularisations.py,
balances.py, contract_funding.billing_statuses) against the in-memory unit of work: an advance
invoiced, certified, accepted, paid and the balance at zero; gap-free numbers (a refused issue
consumes none); credit notes; payments within what an invoice owes; a shrunk advance regularised
once and netted on the next invoice; If-Match and the tenancy rule."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kernel.access import Principal
from kernel.errors import Conflict, Forbidden, NotFound, Refused, Stale
from services.financing.application import invoicing, payments
from services.financing.application.accounts import record
from services.financing.application.balances import balances, reconciliation
from services.financing.application.contract_funding import billing_statuses
from services.financing.application.invoicing import AdvanceAsked
from services.financing.application.payments import Allocation
from services.financing.application.regularisations import propose_all
from services.financing.application.unit_of_work import FundingYear, PathEvent, StoredAdvance
from services.financing.domain.billing import Certificate, invoice_stream
from services.financing.domain.schedule import schedule_item
from shared.clock import FixedClock
from tests.unit.financing.fakes import FakeUnitOfWork, LineRow

D = Decimal
UAI, SIRET, OTHER_UAI = "0751234J", "98765432400019", "0931234L"
CFA, CFA_BY_SIRET = Principal("k-cfa", "cfa", UAI), Principal("k-cfa-s", "cfa", SIRET)
OTHER_CFA = Principal("k-other", "cfa", OTHER_UAI)
ATLAS, AKTO = Principal("k-atlas", "opco", "ATLAS"), Principal("k-akto", "opco", "AKTO")
OPS = Principal("k-ops", "ops", "ops")
YEAR_START, YEAR_END = date(2024, 9, 1), date(2025, 8, 31)


def funding_year(contract="c1", fy=1, regime="R2019", amount="8000.00") -> FundingYear:
    return FundingYear(contract, fy, "a1", "ATLAS", UAI, YEAR_START, YEAR_END, 12, "months", D(amount), regime,
                       "funded", None, "opco_decision")


def stored(advance: int, amount: str, due_on: date, contract="c1", fy=1, latest_on=None, **over) -> StoredAdvance:
    return StoredAdvance(contract, fy, advance, "a1", over.pop("opco", "ATLAS"), UAI, SIRET, D(amount), due_on,
                         latest_on, **over)


def money_uow(*advances: StoredAdvance, regime="R2019") -> FakeUnitOfWork:
    """c1's first funding year as the projection stored it, with these advances."""
    uow = FakeUnitOfWork()
    uow.tables.years = [funding_year(regime=regime)]
    uow.tables.advances = list(advances) or [stored(1, "4000.00", date(2024, 11, 11)),
                                             stored(2, "2000.00", date(2025, 3, 1)),
                                             stored(3, "2000.00", date(2025, 6, 1))]
    uow.now = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    return uow


def cert(advance: int, clock: FixedClock, kind="realisation", contract="c1", fy=1) -> Certificate:
    return Certificate(str(uuid.uuid4()), kind, "intermediate", contract, fy, advance, YEAR_START, date(2025, 1, 31),
                       D("70"), f"CR-{advance}", clock.today())


def asked(*advances: int, amount: str | None = None) -> list[AdvanceAsked]:
    return [AdvanceAsked("c1", 1, n, D(amount) if amount else None) for n in advances]


async def issue(uow, clock, *advances, certificates=(), amount=None, principal=CFA, opco="ATLAS") -> dict:
    return await invoicing.issue_invoice(uow, principal, opco, asked(*advances, amount=amount), list(certificates),
                                         clock.today())


async def accept(uow, inv, clock, principal=ATLAS, if_match=None) -> dict:
    return await invoicing.decide_invoice(uow, principal, inv["invoice_id"], True, clock.today(), None, None, if_match)


async def pay(uow, clock, amount: str, *allocations: tuple[str, str], reference=None, principal=ATLAS) -> dict:
    return await payments.record_payment(uow, principal, UAI, D(amount), clock.today(),
                                         reference or f"VIR-{uuid.uuid4()}",
                                         [Allocation(i, D(a)) for i, a in allocations], clock.today())


async def balance_of(uow, principal=CFA) -> dict:
    [bal] = (await balances(uow, principal, None, "ATLAS", None))["balances"]
    return bal


async def statuses(uow, clock) -> dict[int, str]:
    """Each advance's status as a contract's funding shows it."""
    schedule = [schedule_item(a.contract_id, a.opco, a.cfa_uai, a.funding_year, a.advance, a.amount, a.due_on,
                              a.latest_on, clock.today()) for a in uow.tables.advances]
    async with uow:
        found = await billing_statuses(uow, schedule, clock.today(), None)
    return {a.advance: s for a, s in zip(uow.tables.advances, found)}


def numbers(uow) -> dict:
    return dict(uow.tables.document_numbers)


async def test_an_advance_issued_certified_accepted_and_paid_leaves_a_balance_at_zero():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    ready = (await invoicing.invoiceable(uow, CFA, clock.today()))["invoiceable"]
    assert [(a["advance"], a["amount"]) for a in ready[0]["advances"]] == [(1, "4000.00"), (2, "2000.00")]
    inv = await issue(uow, clock, 1)
    assert (inv["number"], inv["total"], inv["status"], inv["version"]) == (f"F-{UAI}-2025-00001", "4000.00",
                                                                            "issued", 1)
    assert inv["cfa_siret"] == SIRET and inv["payment_due_on"] == "2025-04-02"
    assert await statuses(uow, clock) == {1: "invoiced", 2: "due", 3: "upcoming"}
    with pytest.raises(Refused) as missing:
        await accept(uow, inv, clock)
    assert missing.value.code == "certificate-missing" and missing.value.errors[0]["code"] == "certificate_missing"

    certified = await invoicing.attach_certificate(uow, CFA, inv["invoice_id"], cert(1, clock), 1, clock.today())
    assert certified["version"] == 2 and certified["certificates"][0]["reference"] == "CR-1"
    clock.set(date(2025, 3, 10))
    accepted = await accept(uow, inv, clock, if_match=2)
    assert (accepted["status"], accepted["decided_on"], accepted["version"]) == ("accepted", "2025-03-10", 3)
    assert (await balance_of(uow))["outstanding"] == "4000.00"

    clock.set(date(2025, 3, 20))
    paid = await pay(uow, clock, "4000.00", (inv["invoice_id"], "4000.00"), reference="VIR-1")
    assert (paid["allocated"], paid["unallocated"]) == ("4000.00", "0.00")
    bal = await balance_of(uow)
    assert (bal["invoiced"], bal["paid"], bal["outstanding"], bal["balance"], bal["status"]) == (
        "4000.00", "4000.00", "0.00", "0.00", "settled")
    assert await balance_of(uow, ATLAS) == bal and await balance_of(uow, CFA_BY_SIRET) == bal
    assert (await statuses(uow, clock))[1] == "paid"
    [row] = await uow.billing.invoice_documents(cfa=None, opco="ATLAS", status="accepted", cfa_uai=None,
                                                issued_from=None, issued_to=None, after_seq=0, limit=10)
    assert row[1]["paid"] == "4000.00" and row[1]["payment_status"] == "paid"
    report = await reconciliation(uow, CFA, date(2024, 1, 1), date(2026, 12, 31), None, "ATLAS", clock.today())
    assert [l["code"] for l in report["lines"]] == ["advance_due_not_invoiced"]   # advance 2, due since March 1


async def test_a_payment_may_cover_part_of_an_invoice_and_is_allocated_later():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    await accept(uow, inv, clock)
    first = await pay(uow, clock, "5000.00", (inv["invoice_id"], "1000.00"))
    assert first["unallocated"] == "4000.00"
    assert (await statuses(uow, clock))[1] == "partly_paid"
    later = await payments.allocate(uow, ATLAS, first["payment_id"], [Allocation(inv["invoice_id"], D("3000.00"))])
    assert (later["allocated"], later["unallocated"]) == ("4000.00", "1000.00")
    bal = await balance_of(uow)
    assert (bal["outstanding"], bal["unallocated"], bal["balance"], bal["overpaid"]) == (
        "0.00", "1000.00", "-1000.00", "1000.00")


async def test_numbers_are_gap_free_a_refused_issue_consumes_none():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    assert (await issue(uow, clock, 1))["number"] == f"F-{UAI}-2025-00001"
    with pytest.raises(Refused) as not_due:
        await issue(uow, clock, 3)
    assert [e["code"] for e in not_due.value.errors] == ["advance_not_due_yet"]
    with pytest.raises(Refused) as too_much:
        await issue(uow, clock, 2, amount="2000.01")
    assert [e["code"] for e in too_much.value.errors] == ["invoice_above_due"]
    with pytest.raises(Conflict) as twice:
        await issue(uow, clock, 1)
    assert twice.value.code == "advance-already-invoiced"
    with pytest.raises(Refused):                        # not this CFA's advance: refused before numbering
        await issue(uow, clock, 2, principal=OTHER_CFA)
    assert numbers(uow) == {(UAI, 2025): 1}
    assert (await issue(uow, clock, 2))["number"] == f"F-{UAI}-2025-00002"
    clock.set(date(2026, 1, 5))                         # a new year, a new sequence
    assert (await issue(uow, clock, 3))["number"] == f"F-{UAI}-2026-00001"
    assert numbers(uow) == {(UAI, 2025): 2, (UAI, 2026): 1}
    assert uow.commits == 3


async def test_an_advance_on_another_active_invoice_meanwhile_is_refused_and_its_number_given_back():
    """The unique index on the lines is the last guard (a concurrent issuer won)."""
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    uow.tables.invoice_lines.append(LineRow("concurrent", 1, "advance", "c1", 1, 1, None, None, D("4000.00"), True))
    with pytest.raises(Conflict) as caught:
        await issue(uow, clock, 1)
    assert caught.value.code == "advance-already-invoiced"
    assert numbers(uow) == {} and uow.tables.money_events == []


async def test_a_credit_note_takes_the_next_number_and_frees_the_advance():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, 2)
    cancelled = await invoicing.cancel_invoice(uow, CFA, inv["invoice_id"], "wrong lines", 1, clock.today())
    assert cancelled["status"] == "cancelled" and cancelled["outstanding"] == "0.00"
    assert cancelled["credit_note"] == {"number": f"A-{UAI}-2025-00002", "issued_on": "2025-03-03",
                                        "reason": "wrong lines", "total": "-6000.00"}
    assert await statuses(uow, clock) == {1: "due", 2: "due", 3: "upcoming"}
    ready = (await invoicing.invoiceable(uow, CFA, clock.today()))["invoiceable"]
    assert [a["advance"] for a in ready[0]["advances"]] == [1, 2]
    again = await issue(uow, clock, 1)
    assert again["number"] == f"F-{UAI}-2025-00003"
    bal = await balance_of(uow)
    assert (bal["invoices"], bal["invoiced"], bal["credited"]) == (1, "4000.00", "6000.00")
    with pytest.raises(Conflict) as closed:
        await invoicing.cancel_invoice(uow, CFA, inv["invoice_id"], "again", None, clock.today())
    assert closed.value.code == "invoice-closed" and numbers(uow) == {(UAI, 2025): 3}
    with pytest.raises(Conflict) as decided:
        await accept(uow, inv, clock)
    assert decided.value.code == "invoice-already-decided"


async def test_a_rejected_invoice_frees_its_advance_too():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1)
    rejected = await invoicing.decide_invoice(uow, ATLAS, inv["invoice_id"], False, clock.today(),
                                              "certificate_missing", "no certificate", 1)
    assert (rejected["status"], rejected["motive"]) == ("rejected", "certificate_missing")
    assert (await issue(uow, clock, 1))["number"] == f"F-{UAI}-2025-00002"


async def test_a_paid_invoice_can_no_longer_be_cancelled():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    await accept(uow, inv, clock)
    await pay(uow, clock, "1000.00", (inv["invoice_id"], "1000.00"))
    with pytest.raises(Conflict) as caught:
        await invoicing.cancel_invoice(uow, CFA, inv["invoice_id"], "too late", None, clock.today())
    assert caught.value.code == "invoice-paid"
    assert numbers(uow) == {(UAI, 2025): 1}             # the credit note's number given back


async def test_payments_are_refused_above_what_an_invoice_owes_and_on_an_invoice_not_accepted():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    with pytest.raises(Refused) as issued_only:
        await pay(uow, clock, "4000.00", (inv["invoice_id"], "4000.00"))
    assert [e["code"] for e in issued_only.value.errors] == ["invoice_not_payable"]
    await accept(uow, inv, clock)
    with pytest.raises(Refused) as over:
        await pay(uow, clock, "5000.00", (inv["invoice_id"], "4000.01"))
    assert [(e["code"], e.get("outstanding")) for e in over.value.errors] == [("payment_over_allocation", "4000.00")]
    with pytest.raises(Refused) as above_payment:
        await pay(uow, clock, "100.00", (inv["invoice_id"], "200.00"))
    assert above_payment.value.errors[0] == {
        "field": "allocations", "code": "payment_over_allocation",
        "message": "The allocations exceed what the payment leaves to allocate (100.00)."}
    with pytest.raises(Refused) as unknown:
        await pay(uow, clock, "4000.00", (inv["invoice_id"], "4000.00"), principal=AKTO)
    assert [e["code"] for e in unknown.value.errors] == ["invoice_unknown"]
    with pytest.raises(Refused) as future:
        await payments.record_payment(uow, ATLAS, UAI, D("1.00"), date(2025, 3, 4), "VIR-F", [], clock.today())
    assert future.value.errors[0]["code"] == "date_in_future"
    assert uow.tables.payments == {} and uow.tables.invoices[inv["invoice_id"]].invoice.paid == 0

    await pay(uow, clock, "3000.00", (inv["invoice_id"], "3000.00"), reference="VIR-1")
    with pytest.raises(Refused) as rest:
        await pay(uow, clock, "1000.01", (inv["invoice_id"], "1000.01"))
    assert rest.value.errors[0]["outstanding"] == "1000.00"
    with pytest.raises(Conflict) as duplicate:
        await pay(uow, clock, "1000.00", (inv["invoice_id"], "1000.00"), reference="VIR-1")
    assert duplicate.value.code == "payment-duplicate"
    with pytest.raises(Forbidden):
        await pay(uow, clock, "1000.00", (inv["invoice_id"], "1000.00"), principal=CFA)


async def test_a_shrunk_advance_is_regularised_once_and_netted_on_the_next_invoice():
    uow = money_uow(stored(1, "4000.00", date(2024, 11, 11)), stored(2, "4000.00", date(2025, 3, 1)))
    clock = FixedClock(date(2025, 1, 10))
    uow.now = datetime(2025, 1, 10, 9, tzinfo=timezone.utc)
    first = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    await accept(uow, first, clock)
    await pay(uow, clock, "4000.00", (first["invoice_id"], "4000.00"))
    assert await propose_all(uow, clock.today()) == 0

    # a rupture on 2025-01-15 shrinks the year: advance 1 is 1666.67 now, the balance 3000.00
    ruptured_at = datetime(2025, 1, 16, 9, tzinfo=timezone.utc)
    uow.tables.events += [
        PathEvent("e-deposit", "a1", "c1", 4, "contract.deposited", {"deposited_on": "2024-10-12"}, ruptured_at),
        PathEvent("e-rupture", "a1", "c1", 5, "contract.ruptured",
                  {"reason": "mutual_agreement", "ruptured_on": "2025-01-15", "continues_training": False},
                  ruptured_at)]
    uow.tables.advances = [replace(a, amount=D("1666.67") if a.advance == 1 else D("3000.00"))
                           for a in uow.tables.advances]
    clock.set(date(2025, 1, 20))
    uow.now = datetime(2025, 1, 20, 9, tzinfo=timezone.utc)
    assert (await statuses(uow, clock))[1] == "overpaid"
    report = await reconciliation(uow, CFA, date(2024, 1, 1), date(2026, 12, 31), None, None, clock.today())
    assert [(l["code"], l["expected"]) for l in report["lines"] if l["severity"] == "error"] == [
        ("invoice_above_due", "1666.67")]
    assert await propose_all(uow, clock.today()) == 1
    assert await propose_all(uow, clock.today()) == 0                     # proposed once
    [reg] = uow.tables.regularisations.values()
    assert (reg.amount, reg.invoiced, reg.due_now, reg.invoice_id) == (D("2333.33"), D("4000.00"), D("1666.67"),
                                                                        first["invoice_id"])
    assert [(c["type"], c["on"]) for c in reg.caused_by] == [("contract.ruptured", "2025-01-15")]
    assert "contract.ruptured (2025-01-15)" in reg.reason and first["number"] in reg.reason
    bal = await balance_of(uow)
    assert (bal["to_regularise"], bal["balance"], bal["overpaid"], bal["status"]) == (
        "-2333.33", "-2333.33", "2333.33", "overpaid")

    clock.set(date(2025, 3, 3))
    ready = (await invoicing.invoiceable(uow, CFA, clock.today()))["invoiceable"]
    assert [r["regularisation_id"] for r in ready[0]["regularisations"]] == [reg.regularisation_id]
    assert ready[0]["total"] == "666.67"
    second = await issue(uow, clock, 2, certificates=[cert(2, clock)])
    assert [(l["kind"], l["amount"]) for l in second["lines"]] == [("advance", "3000.00"),
                                                                   ("regularisation", "-2333.33")]
    assert second["total"] == "666.67" and second["number"] == f"F-{UAI}-2025-00002"
    assert uow.tables.regularisations[reg.regularisation_id].settled_by == second["invoice_id"]
    assert await propose_all(uow, clock.today()) == 0
    await accept(uow, second, clock)
    await pay(uow, clock, "666.67", (second["invoice_id"], "666.67"))
    bal = await balance_of(uow)
    assert (bal["invoiced"], bal["paid"], bal["to_regularise"], bal["balance"], bal["status"]) == (
        "4666.67", "4666.67", "0.00", "0.00", "settled")
    assert await statuses(uow, clock) == {1: "paid", 2: "paid"}
    report = await reconciliation(uow, CFA, date(2024, 1, 1), date(2026, 12, 31), None, None, clock.today())
    assert report["lines"] == []


async def test_an_invoice_proposes_and_nets_a_regularisation_the_worker_has_not_yet():
    uow = money_uow(stored(1, "4000.00", date(2024, 11, 11)), stored(2, "4000.00", date(2025, 3, 1)))
    clock = FixedClock(date(2025, 1, 10))
    first = await issue(uow, clock, 1)
    uow.tables.advances = [replace(a, amount=D("1666.67")) if a.advance == 1 else a for a in uow.tables.advances]
    clock.set(date(2025, 3, 3))
    second = await issue(uow, clock, 2)
    assert [(l["kind"], l["amount"]) for l in second["lines"]] == [("advance", "4000.00"),
                                                                   ("regularisation", "-2333.33")]
    [reg] = uow.tables.regularisations.values()
    assert reg.settled_by == second["invoice_id"] and reg.reason.endswith("after a new computation")
    # cancelling the invoice that netted it opens it again; cancelling the one it corrects removes it
    await invoicing.cancel_invoice(uow, CFA, second["invoice_id"], "redo", None, clock.today())
    assert (await balance_of(uow))["to_regularise"] == "-2333.33"
    await invoicing.cancel_invoice(uow, CFA, first["invoice_id"], "redo", None, clock.today())
    assert (await balance_of(uow))["to_regularise"] == "0.00"


async def test_the_r2025_balance_is_invoiced_on_the_completion_attestation():
    uow = money_uow(stored(4, "800.00", date(2025, 8, 31), latest_on=date(2025, 12, 31)), regime="R2025")
    clock = FixedClock(date(2025, 9, 1))
    with pytest.raises(Refused) as missing:
        await issue(uow, clock, 4, certificates=[cert(4, clock)])
    assert [e["code"] for e in missing.value.errors] == ["certificate_missing"]
    ready = (await invoicing.invoiceable(uow, CFA, clock.today()))["invoiceable"]
    assert ready[0]["advances"][0]["certificates_needed"] == ["completion_attestation"]
    inv = await issue(uow, clock, 4, certificates=[cert(4, clock, kind="completion_attestation")])
    assert inv["number"] == f"F-{UAI}-2025-00001"
    clock.set(date(2026, 1, 1))                         # past its 4 months, not invoiced: no longer due
    uow2 = money_uow(stored(4, "800.00", date(2025, 8, 31), latest_on=date(2025, 12, 31)), regime="R2025")
    with pytest.raises(Refused) as late:
        await issue(uow2, clock, 4, certificates=[cert(4, clock, kind="completion_attestation")])
    assert [e["code"] for e in late.value.errors] == ["advance_past_deadline"]
    assert await statuses(uow2, clock) == {4: "not_due"}


async def test_the_employer_contribution_shows_on_the_first_advance_line():
    uow = money_uow(stored(1, "2450.00", date(2025, 9, 1), employer_contribution=D("750.00")), regime="R2025")
    clock = FixedClock(date(2025, 9, 1))
    inv = await issue(uow, clock, 1)
    assert inv["lines"][0]["employer_contribution"] == "750.00"
    assert (await balance_of(uow))["employer_contribution_deducted"] == "750.00"


async def test_if_match_naming_another_version_is_stale():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1)
    with pytest.raises(Stale) as attach:
        await invoicing.attach_certificate(uow, CFA, inv["invoice_id"], cert(1, clock), 2, clock.today())
    assert attach.value.extra == {"current_version": 1}
    await invoicing.attach_certificate(uow, CFA, inv["invoice_id"], cert(1, clock), 1, clock.today())
    with pytest.raises(Stale):
        await accept(uow, inv, clock, if_match=1)
    with pytest.raises(Stale):
        await invoicing.cancel_invoice(uow, CFA, inv["invoice_id"], "x", 1, clock.today())
    assert numbers(uow) == {(UAI, 2025): 1}
    assert (await accept(uow, inv, clock, if_match=2))["version"] == 3


async def test_a_concurrent_append_is_a_conflict():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1)
    async with uow:
        with pytest.raises(Conflict) as caught:
            await record(uow, CFA, (UAI, "ATLAS"), [(invoice_stream(inv["invoice_id"]), 0, [
                ("invoice.accepted", {"invoice_id": inv["invoice_id"], "decided_on": "2025-03-03"})])])
    assert caught.value.code == "concurrent-update" and len(uow.tables.money_events) == 1


@pytest.mark.parametrize("principal", [OTHER_CFA, AKTO])
async def test_another_tenants_invoice_is_not_found(principal):
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    if principal.role == "cfa":
        with pytest.raises(NotFound):
            await invoicing.attach_certificate(uow, principal, inv["invoice_id"], cert(1, clock), None, clock.today())
        with pytest.raises(NotFound):
            await invoicing.cancel_invoice(uow, principal, inv["invoice_id"], "x", None, clock.today())
        assert (await invoicing.invoiceable(uow, principal, clock.today()))["invoiceable"] == []
    else:
        with pytest.raises(NotFound):
            await accept(uow, inv, clock, principal=principal)
    assert (await balances(uow, principal, None, None, None))["balances"] == []
    assert numbers(uow) == {(UAI, 2025): 1}
    for own in (CFA, CFA_BY_SIRET, ATLAS, OPS):     # and the invoice's own parties see it
        assert (await balances(uow, own, None, None, None))["balances"][0]["invoiced"] == "4000.00"


async def test_roles():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    with pytest.raises(Forbidden):
        await issue(uow, clock, 1, principal=ATLAS)
    inv = await issue(uow, clock, 1)
    with pytest.raises(Forbidden):
        await accept(uow, inv, clock, principal=CFA)


async def test_balances_as_of_answer_what_was_known_then():
    uow, clock = money_uow(), FixedClock(date(2025, 3, 3))
    inv = await issue(uow, clock, 1, certificates=[cert(1, clock)])
    await accept(uow, inv, clock)
    before = uow.now
    uow.now = before + timedelta(hours=1)
    await pay(uow, clock, "4000.00", (inv["invoice_id"], "4000.00"))
    [then] = (await balances(uow, CFA, None, None, before))["balances"]
    assert (then["paid"], then["outstanding"]) == ("0.00", "4000.00")
    assert (await balance_of(uow))["paid"] == "4000.00"


# -- bugs the fake found in the services code, fixed (each test failed before its fix) --------------
async def test_the_contribution_taken_from_a_later_advance_shows_on_its_line():
    uow = money_uow(stored(3, "150.00", date(2025, 9, 1), employer_contribution=D("50.00")), regime="R2025")
    clock = FixedClock(date(2025, 9, 1))
    ready = (await invoicing.invoiceable(uow, CFA, clock.today()))["invoiceable"]
    assert ready[0]["advances"][0]["employer_contribution"] == "50.00"        # shown as invoiceable
    inv = await issue(uow, clock, 3)
    assert inv["lines"][0].get("employer_contribution") == "50.00"
    assert (await balance_of(uow))["employer_contribution_deducted"] == "50.00"


async def test_two_open_regularisations_of_one_advance_are_netted_on_the_next_invoice():
    uow = money_uow(stored(1, "4000.00", date(2024, 11, 11)), stored(2, "4000.00", date(2025, 3, 1)))
    clock = FixedClock(date(2025, 1, 10))
    await issue(uow, clock, 1)
    for amount in ("3000.00", "1666.67"):     # an amendment, then a rupture: the advance shrinks twice
        uow.tables.advances = [replace(a, amount=D(amount)) if a.advance == 1 else a for a in uow.tables.advances]
        assert await propose_all(uow, clock.today()) == 1
    clock.set(date(2025, 3, 3))
    second = await issue(uow, clock, 2)
    assert second["total"] == "1666.67"


async def test_cancelling_an_invoice_whose_regularisation_was_netted_keeps_the_account_whole():
    uow = money_uow(stored(1, "4000.00", date(2024, 11, 11)), stored(2, "4000.00", date(2025, 3, 1)))
    clock = FixedClock(date(2025, 1, 10))
    first = await issue(uow, clock, 1)
    uow.tables.advances = [replace(a, amount=D("1666.67")) if a.advance == 1 else a for a in uow.tables.advances]
    clock.set(date(2025, 3, 3))
    second = await issue(uow, clock, 2)                        # nets -2333.33
    assert second["total"] == "1666.67"
    with pytest.raises(Conflict) as refused:          # the invoice that netted it goes first
        await invoicing.cancel_invoice(uow, CFA, first["invoice_id"], "redo", None, clock.today())
    assert refused.value.code == "invoice-regularised" and refused.value.extra["netted_on"] == [second["number"]]
    await invoicing.cancel_invoice(uow, CFA, second["invoice_id"], "redo", None, clock.today())
    await invoicing.cancel_invoice(uow, CFA, first["invoice_id"], "redo", None, clock.today())
    await issue(uow, clock, 1)                                 # advance 1 again, at what is due now
    bal = await balance_of(uow)
    assert D(bal["invoiced"]) == D("1666.67") and bal["to_regularise"] == "0.00"
