"""The money loop's pure domain (services/financing/domain/billing.py): the folds of an invoice, a
payment, an advance's regularisations and an account; what payments cover of each line; the
advance statuses; the rules an invoiced advance must meet; the regularisations an invoice nets;
the document numbers. And the échéancier's split of a funding year (domain/schedule.py): the
employer's contribution taken from the first advance, its shortfall from the next ones."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from services.financing.domain import policy
from services.financing.domain.amounts import Line as FundingLine
from services.financing.domain.billing import (AdvanceNow, Certificate, Invoice, Line, Problems, Regularisation,
                                               advance_problems, advance_status, document_number, fold_invoice,
                                               fold_ledger, fold_payment, fold_regularisations, invoice_stream,
                                               net_regularisations, overshoot, payment_stream,
                                               regularisation_stream)
from services.financing.domain.schedule import split

D = Decimal
UAI, SIRET, OPCO = "0751234J", "98765432400019", "ATLAS"
TODAY = date(2025, 3, 3)


def issued(invoice_id="i1", number="F-0751234J-2025-00001", lines=None, **over) -> dict:
    lines = lines if lines is not None else [Line("advance", D("4000.00"), "c1", 1, 1).as_dict()]
    return {"invoice_id": invoice_id, "number": number, "cfa_uai": UAI, "cfa_siret": SIRET, "opco": OPCO,
            "issued_on": "2025-03-03", "payment_due_on": "2025-04-02", "lines": lines, **over}


def certificate(advance=1, kind="realisation") -> Certificate:
    return Certificate("cert-1", kind, "intermediate", "c1", 1, advance, date(2024, 9, 1), date(2025, 1, 31),
                       D("70"), "CR-1", TODAY)


def allocated(invoice_id="i1", payment_id="p1", amount="4000.00") -> dict:
    return {"invoice_id": invoice_id, "payment_id": payment_id, "amount": amount, "paid_on": "2025-03-20"}


def proposed(rid="r1", amount="2333.33", invoice_id="i1", proposed_on="2025-02-01", advance=1) -> dict:
    return {"regularisation_id": rid, "contract_id": "c1", "funding_year": 1, "advance": advance, "cfa_uai": UAI,
            "opco": OPCO, "amount": amount, "invoiced": "4000.00", "due_now": "1666.67", "invoice_id": invoice_id,
            "reason": "rupture", "caused_by": [{"type": "contract.ruptured"}], "proposed_on": proposed_on}


def regularisation(rid: str, amount: str, proposed_on: date) -> Regularisation:
    return Regularisation(rid, "c1", 1, 1, UAI, OPCO, D(amount), D("4000.00"), D("1666.67"), "i1", "rupture", (),
                          proposed_on)


# -- folds ----------------------------------------------------------------------------------------
def test_an_invoice_folds_its_issue_certificate_acceptance_and_payments_one_version_each():
    inv = fold_invoice([("invoice.issued", issued()),
                        ("invoice.certificate_attached", {"invoice_id": "i1", "certificate": certificate().as_dict()}),
                        ("invoice.accepted", {"invoice_id": "i1", "decided_on": "2025-03-10"}),
                        ("payment.allocated", allocated(amount="1000.00")),
                        ("payment.allocated", allocated(payment_id="p2", amount="3000.00"))])
    assert (inv.status, inv.version, inv.decided_on) == ("accepted", 5, date(2025, 3, 10))
    assert inv.certificates == (certificate(),) and inv.certificates[0].covers(("c1", 1, 1))
    assert (inv.total, inv.paid, inv.outstanding, inv.payment_status) == (D("4000.00"), D("4000.00"), 0, "paid")
    assert inv.advance_keys() == [("c1", 1, 1)] and inv.active
    assert inv.as_dict()["allocations"][1] == {"payment_id": "p2", "amount": "3000.00", "paid_on": "2025-03-20"}


def test_an_invoice_partly_paid_rejected_or_cancelled():
    part = fold_invoice([("invoice.issued", issued()), ("invoice.accepted", {"decided_on": "2025-03-10"}),
                         ("payment.allocated", allocated(amount="1000.00"))])
    assert (part.payment_status, part.outstanding) == ("partly_paid", D("3000.00"))
    rejected = fold_invoice([("invoice.issued", issued()), ("invoice.rejected", {
        "decided_on": "2025-03-10", "motive": "certificate_missing", "comment": "none attached"})])
    assert (rejected.status, rejected.motive, rejected.comment, rejected.active) == (
        "rejected", "certificate_missing", "none attached", False)
    assert rejected.outstanding == 0 and rejected.payment_status == "unpaid"
    cancelled = fold_invoice([("invoice.issued", issued()), ("invoice.cancelled", {
        "cancelled_on": "2025-03-05", "reason": "wrong amount", "credit_note_number": "A-0751234J-2025-00002",
        "credit_note_total": "4000.00"})])
    assert cancelled.status == "cancelled" and cancelled.version == 2 and cancelled.outstanding == 0
    assert cancelled.credit_note == {"number": "A-0751234J-2025-00002", "issued_on": "2025-03-05",
                                     "reason": "wrong amount", "total": "-4000.00"}


def test_an_invoice_is_nothing_before_its_issue():
    assert fold_invoice([]) is None
    assert fold_invoice([("invoice.accepted", {"decided_on": "2025-03-10"})]) is None
    late = fold_invoice([("payment.allocated", allocated()), ("invoice.issued", issued())])
    assert late.version == 1 and late.paid == 0


def test_a_payment_folds_its_allocations():
    recorded = {"payment_id": "p1", "opco": OPCO, "cfa_uai": UAI, "amount": "5000.00", "paid_on": "2025-03-20",
                "bank_reference": "VIR-1", "allocations": [{"invoice_id": "i1", "amount": "4000.00"}]}
    assert fold_payment([("payment.allocated", allocated())]) is None
    p = fold_payment([("payment.recorded", recorded), ("payment.allocated", allocated("i2", amount="600.00"))])
    assert (p.amount, p.allocated, p.unallocated, p.version) == (D("5000.00"), D("4600.00"), D("400.00"), 2)
    assert p.allocations[1] == {"invoice_id": "i2", "amount": "600.00"}
    assert p.as_dict()["unallocated"] == "400.00"


def test_the_regularisations_of_one_advance_fold_proposed_then_settled():
    regs = fold_regularisations([
        ("regularisation.proposed", proposed("r1", "2333.33")),
        ("regularisation.settled", {"regularisation_id": "r1", "invoice_id": "i2", "settled_on": "2025-04-01"}),
        ("regularisation.settled", {"regularisation_id": "unknown", "invoice_id": "i2", "settled_on": "2025-04-01"}),
        ("regularisation.proposed", proposed("r2", "100.00", proposed_on="2025-05-01"))])
    assert [(r.regularisation_id, r.amount, r.settled_by, r.settled_on) for r in regs] == [
        ("r1", D("2333.33"), "i2", date(2025, 4, 1)), ("r2", D("100.00"), None, None)]
    assert regs[0].as_dict()["amount"] == "-2333.33" and regs[0].as_dict()["status"] == "settled"
    assert regs[1].as_dict()["status"] == "proposed"


@dataclass(frozen=True)
class Ev:
    stream_id: str
    type: str
    data: dict
    recorded_at: datetime
    position: int


def events(*pairs: tuple[str, str, dict]) -> list[Ev]:
    at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    return [Ev(s, t, d, at + timedelta(minutes=n), n) for n, (s, t, d) in enumerate(pairs, start=1)]


def test_an_account_folds_every_stream_with_its_version():
    fee = Line("fee", D("6.00"), "c1", 1, 1, claim_id="claim-1").as_dict()
    regline = Line("regularisation", D("-2333.33"), "c1", 1, 1, regularisation_id="r1").as_dict()
    log = events(
        (invoice_stream("i1"), "invoice.issued", issued()),
        (invoice_stream("i1"), "invoice.accepted", {"decided_on": "2025-03-10"}),
        (payment_stream("p1"), "payment.recorded", {
            "payment_id": "p1", "opco": OPCO, "cfa_uai": UAI, "amount": "4000.00", "paid_on": "2025-03-20",
            "bank_reference": "VIR-1", "allocations": [{"invoice_id": "i1", "amount": "4000.00"}]}),
        (invoice_stream("i1"), "payment.allocated", allocated()),
        (regularisation_stream("c1", 1, 1), "regularisation.proposed", proposed("r1")),
        (regularisation_stream("c1", 1, 1), "regularisation.proposed", proposed("r2", "10.00", proposed_on="2025-02-02")),
        (invoice_stream("i2"), "invoice.issued", issued("i2", "F-0751234J-2025-00002", [
            Line("advance", D("3000.00"), "c1", 1, 2).as_dict(), fee, regline])),
        (regularisation_stream("c1", 1, 1), "regularisation.settled", {
            "regularisation_id": "r1", "invoice_id": "i2", "settled_on": "2025-04-01"}))
    ledger = fold_ledger(log)
    assert ledger.versions == {invoice_stream("i1"): 3, payment_stream("p1"): 1,
                               regularisation_stream("c1", 1, 1): 3, invoice_stream("i2"): 1}
    assert ledger.issued["i2"] is log[6] and set(ledger.invoices) == {"i1", "i2"}
    assert ledger.payments["p1"].allocated == D("4000.00")
    assert [r.regularisation_id for r in ledger.open_regularisations(UAI, OPCO)] == ["r2"]
    assert ledger.open_regularisations("other", OPCO) == []
    assert ledger.regularised() == {("c1", 1, 1): D("2343.33")}
    assert ledger.regularised(settled_only=True) == {("c1", 1, 1): D("2333.33")}
    billed = ledger.billed()
    assert set(billed) == {("c1", 1, 1), ("c1", 1, 2)}
    assert billed[("c1", 1, 1)][2] == D("4000.00")
    assert billed[("c1", 1, 2)][2] == D("2333.33")       # unpaid, but the netted regularisation covers it
    assert ledger.billed_claims() == {"claim-1"}
    # the invoice that nets r1 rejected: r1 is open again; the one it corrects cancelled: r1 stands no more
    rejected = fold_ledger(log + events((invoice_stream("i2"), "invoice.rejected", {
        "decided_on": "2025-04-02", "motive": "other"})))
    assert {r.regularisation_id for r in rejected.open_regularisations()} == {"r1", "r2"}
    assert ("c1", 1, 2) not in rejected.billed() and rejected.billed_claims() == set()
    gone = fold_ledger(log[:2] + events((invoice_stream("i1"), "invoice.cancelled", {
        "cancelled_on": "2025-03-05", "reason": "x", "credit_note_number": "A", "credit_note_total": "4000.00"}))
        + log[4:6])
    assert gone.open_regularisations() == [] and gone.regularised() == {} and gone.billed() == {}


# -- what payments cover of each line -------------------------------------------------------------
def invoice_of(*lines: Line, paid: str | None = None) -> Invoice:
    allocations = ({"payment_id": "p", "amount": paid, "paid_on": "2025-04-01"},) if paid else ()
    return Invoice("i", "F", UAI, SIRET, OPCO, TODAY, TODAY, tuple(lines), "accepted", allocations=allocations)


ADV2 = Line("advance", D("3000.00"), "c1", 1, 2)
FEE = Line("fee", D("6.00"), "c1", 1, 2, claim_id="k")
REG = Line("regularisation", D("-2333.33"), "c1", 1, 1, regularisation_id="r1")


@pytest.mark.parametrize("paid, covered", [
    (None, [D("2333.33"), D("0"), D("-2333.33")]),      # the netted regularisation covers the first line
    ("300.00", [D("2633.33"), D("0"), D("-2333.33")]),
    ("672.67", [D("3000.00"), D("6.00"), D("-2333.33")]),
])
def test_a_netted_regularisation_pays_the_lines_first(paid, covered):
    inv = invoice_of(ADV2, FEE, REG, paid=paid)
    assert inv.total == D("672.67")
    assert inv.paid_by_line() == covered


def test_paid_by_line_without_regularisation_follows_line_order():
    assert invoice_of(ADV2, FEE, paid="3003.00").paid_by_line() == [D("3000.00"), D("3.00")]
    assert invoice_of(ADV2, FEE).paid_by_line() == [D("0"), D("0")]


# -- advance status -------------------------------------------------------------------------------
@pytest.mark.parametrize("due_on, latest_on, invoiced, paid, status", [
    (date(2025, 4, 1), None, None, "0", "upcoming"),
    (date(2025, 3, 3), None, None, "0", "due"),
    (date(2024, 8, 31), date(2025, 1, 1), None, "0", "not_due"),        # the R2025 balance past its 4 months
    (date(2024, 8, 31), date(2025, 3, 3), None, "0", "due"),            # on its last day still due
    (date(2025, 3, 1), None, "1000.00", "0", "invoiced"),
    (date(2025, 3, 1), None, "1000.00", "400.00", "partly_paid"),
    (date(2025, 3, 1), None, "1000.00", "1000.00", "paid"),
    (date(2025, 3, 1), None, "1000.00", "1000.01", "overpaid"),        # paid above what the advance is now
])
def test_advance_status(due_on, latest_on, invoiced, paid, status):
    assert advance_status(D("1000.00"), due_on, latest_on, D(invoiced) if invoiced else None, D(paid),
                          TODAY) == status


def test_an_advance_shrunk_after_its_payment_is_overpaid_until_regularised():
    assert advance_status(D("1666.67"), date(2024, 11, 11), None, D("4000.00"), D("4000.00"), TODAY) == "overpaid"
    net = D("4000.00") - D("2333.33")
    assert advance_status(D("1666.67"), date(2024, 11, 11), None, net, net, TODAY) == "paid"


# -- the rules of an invoiced advance -------------------------------------------------------------
def now(amount="1000.00", due_on=date(2025, 3, 1), latest_on=None, attestation=False, opco=OPCO) -> AdvanceNow:
    return AdvanceNow("c1", 1, 1, opco, UAI, SIRET, D(amount), due_on, latest_on, attestation)


def problems_of(a, amount=None, already=False, attested=False, opco=OPCO):
    problems = Problems()
    out = advance_problems(0, ("c1", 1, 1), D(amount) if amount else None, a, opco, already, TODAY, attested, problems)
    return out, [p["code"] for p in problems.items], problems


def test_an_advance_due_and_free_is_invoiced_at_what_is_due_or_less():
    assert problems_of(now())[:2] == (D("1000.00"), [])
    assert problems_of(now(), "400.00")[:2] == (D("400.00"), [])
    assert problems_of(now(), "1000.00")[:2] == (D("1000.00"), [])
    assert problems_of(now(due_on=TODAY))[:2] == (D("1000.00"), [])


@pytest.mark.parametrize("kw, code", [
    ({"a": now(), "amount": "1000.01"}, "invoice_above_due"),
    ({"a": now(), "already": True}, "advance_already_invoiced"),
    ({"a": now(due_on=date(2025, 3, 4))}, "advance_not_due_yet"),
    ({"a": now(latest_on=date(2025, 3, 2))}, "advance_past_deadline"),
    ({"a": now(attestation=True)}, "certificate_missing"),
    ({"a": now(opco="AKTO")}, "invoice_mixed_opco"),
    ({"a": now(amount="0.00")}, "advance_nothing_due"),
    ({"a": None}, "advance_unknown"),
])
def test_each_rule_refuses_the_advance_with_its_code(kw, code):
    amount, codes, problems = problems_of(**kw)
    assert amount is None and codes == [code]
    assert problems and problems.items[0]["field"].startswith("lines[0]")


def test_the_refusals_are_all_reported_and_the_attestation_lifts_certificate_missing():
    _, codes, problems = problems_of(now(due_on=date(2025, 4, 1), attestation=True, opco="AKTO"), "2000.00", True)
    assert codes == ["invoice_mixed_opco", "advance_already_invoiced", "advance_not_due_yet", "certificate_missing",
                     "invoice_above_due"]
    assert problems.items[-1]["due"] == "1000.00"
    assert problems_of(now(attestation=True), attested=True)[:2] == (D("1000.00"), [])
    assert problems_of(now(latest_on=TODAY))[1] == []


# -- regularisations netted ------------------------------------------------------------------------
def test_the_oldest_regularisations_are_netted_first_never_below_zero():
    old, mid, young = (regularisation("r-old", "60.00", date(2025, 1, 1)),
                       regularisation("r-mid", "50.00", date(2025, 2, 1)),
                       regularisation("r-young", "30.00", date(2025, 3, 1)))
    chosen = net_regularisations(D("100.00"), [young, mid, old])
    assert [r.regularisation_id for r in chosen] == ["r-old", "r-young"]   # r-mid would go below zero: it waits
    assert [r.regularisation_id for r in net_regularisations(D("110.00"), [young, mid, old])] == ["r-old", "r-mid"]
    assert net_regularisations(D("20.00"), [young, mid, old]) == []
    assert net_regularisations(D("0.00"), []) == []


@given(st.decimals(min_value=0, max_value=10_000, places=2),
       st.lists(st.tuples(st.decimals(min_value=D("0.01"), max_value=5_000, places=2), st.integers(0, 400)),
                max_size=8))
@settings(max_examples=200, deadline=None)
def test_netting_never_takes_an_invoice_below_zero(total, regs):
    open_ones = [regularisation(f"r{n}", str(amount), date(2025, 1, 1) + timedelta(days=day))
                 for n, (amount, day) in enumerate(regs)]
    chosen = net_regularisations(total, open_ones)
    assert total - sum((r.amount for r in chosen), D(0)) >= 0
    assert [r.proposed_on for r in chosen] == sorted(r.proposed_on for r in chosen)
    left = total - sum((r.amount for r in chosen), D(0))
    oldest_left_out = [r for r in open_ones if r not in chosen]
    assert all(r.amount > left for r in oldest_left_out)     # nothing left out would have fitted at the end


def test_overshoot_is_what_was_invoiced_above_due_less_what_was_regularised():
    assert overshoot(D("4000.00"), D("1666.67"), D("0")) == D("2333.33")
    assert overshoot(D("4000.00"), D("1666.67"), D("2333.33")) == 0
    assert overshoot(D("1000.00"), D("1200.00"), D("0")) == 0


def test_document_numbers():
    assert document_number("F", UAI, 2025, 1) == "F-0751234J-2025-00001"
    assert document_number("A", UAI, 2024, 12345) == "A-0751234J-2024-12345"


# -- the échéancier's split of a funding year -------------------------------------------------------
def funding_line(amount: str, contribution: str | None, regime="R2025") -> FundingLine:
    return FundingLine("c1", "a1", OPCO, UAI, 1, date(2025, 9, 1), date(2026, 8, 31), date(2026, 8, 31), 12,
                       "months", D(amount), regime, "funded", D(contribution) if contribution is not None else None)


def test_the_employer_contribution_is_taken_from_the_first_advance():
    out = split(funding_line("7250.00", "750.00"), policy.SCHEDULES["R2025"])
    assert out == [(D("2450.00"), D("750.00")), (D("2400.00"), None), (D("1600.00"), None), (D("800.00"), None)]


def test_a_shortfall_of_the_first_advance_is_taken_from_the_next_ones():
    out = split(funding_line("250.00", "750.00"), policy.SCHEDULES["R2025"])
    assert out == [(D("0.00"), D("400.00")), (D("0.00"), D("300.00")), (D("150.00"), D("50.00")),
                   (D("100.00"), None)]


def test_without_a_contribution_the_shares_are_of_the_amount():
    out = split(funding_line("8000.00", None, "R2019"), policy.SCHEDULES["R2019"])
    assert out == [(D("4000.00"), None), (D("2000.00"), None), (D("2000.00"), None)]


@given(st.decimals(min_value=0, max_value=60_000, places=2), st.sampled_from([None, "0", "200.00", "750.00"]),
       st.sampled_from(["R2019", "R2019_short", "R2025"]))
@settings(max_examples=300, deadline=None)
def test_the_advances_sum_to_the_funding_year_and_the_contributions_to_the_contribution(amount, contribution, plan):
    line = funding_line(str(amount), contribution, "R2019" if plan.startswith("R2019") else "R2025")
    out = split(line, policy.SCHEDULES[plan])
    assert len(out) == len(policy.SCHEDULES[plan])
    assert sum(a for a, _ in out) == amount
    assert all(a >= 0 for a, _ in out)
    assert sum((c or 0) for _, c in out) == (D(contribution) if contribution else 0)
    if contribution is not None:
        assert out[0][1] is not None                    # the first advance always says what it deducts
    else:
        assert all(c is None for _, c in out)
