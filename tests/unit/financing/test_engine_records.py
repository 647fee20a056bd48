"""The funding computation's fast paths (issue 18) answer as the plain code they replace: frozen
records built in one assignment, ISO dates and split amounts formatted once, the advances' due
dates read in one loop, a signature's facts passed by position."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from contract_events.facts import ContractFacts, fold_facts
from kernel.months import add_months, months_started
from kernel.reference.tables import seed_values
from operations.history_generator import generate
from services.financing.domain import policy as p
from services.financing.domain.amounts import Line, cents
from services.financing.domain.engine import compute
from services.financing.domain.npec import Referential
from services.financing.domain.records import quick_init
from services.financing.domain.schedule import _split_texts, _invoice_due, advances, schedule_item, split
from services.financing.domain.spans import Span
from services.financing.domain import texts

D = Decimal


# -- quick_init ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plain:
    a: int
    b: str
    c: Decimal | None = None
    d: tuple = ()


@quick_init
@dataclass(frozen=True)
class Quick:
    a: int
    b: str
    c: Decimal | None = None
    d: tuple = ()


@pytest.mark.parametrize("args,kwargs", [((1, "x"), {}), ((1, "x", D("2.50")), {}), ((1,), {"b": "y", "d": (3,)}),
                                         ((), {"d": (1,), "c": D(1), "b": "z", "a": 0})])
def test_a_quick_record_is_the_dataclass_record(args, kwargs):
    plain, quick = Plain(*args, **kwargs), Quick(*args, **kwargs)
    assert dataclasses.astuple(quick) == dataclasses.astuple(plain)
    assert repr(quick) == repr(plain).replace("Plain", "Quick")
    assert quick == Quick(*args, **kwargs) and hash(quick) == hash(Quick(*args, **kwargs))
    assert quick != Quick(-1, "other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 2
    assert dataclasses.replace(quick, a=5).a == 5


@pytest.mark.parametrize("args,kwargs", [((), {}), ((1, "x", None, (), 5), {}), ((1, "x"), {"a": 2}),
                                         ((1, "x"), {"e": 3})])
def test_a_quick_record_refuses_the_calls_the_dataclass_refuses(args, kwargs):
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)
    with pytest.raises(TypeError):
        Quick(*args, **kwargs)


def test_quick_init_is_for_frozen_dataclasses_of_plain_fields():
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class WithFactory:
        a: list = dataclasses.field(default_factory=list)

    for cls in (Mutable, WithFactory):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_lines_and_spans_are_quick_records():
    line = Line("c", "a", "ATLAS", "0751234J", 1, date(2025, 1, 1), date(2025, 12, 31), date(2025, 12, 31),
                12, "months", D("100.00"), "R2019", "funded")
    assert line.employer_contribution is None and line.amount == D("100.00")
    assert Line.__init__.__qualname__ == "Line.__init__" and Span.__init__.__qualname__ == "Span.__init__"


# -- texts -------------------------------------------------------------------------------------------
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_a_dates_text_is_its_isoformat(d):
    assert texts.iso_text[d] == d.isoformat()
    assert texts.iso_text[d] == d.isoformat()


def test_the_dates_texts_are_forgotten_when_full(monkeypatch):
    monkeypatch.setattr(texts, "ISO_CACHE_SIZE", 3)
    texts.iso_text.clear()
    for i in range(10):
        assert texts.iso_text[date(2025, 1, 1) + timedelta(days=i)] == (date(2025, 1, 1) + timedelta(days=i)).isoformat()
        assert len(texts.iso_text) <= 3
    texts.iso_text.clear()


@given(st.decimals(allow_nan=True, allow_infinity=True) | st.decimals(places=2) | st.sampled_from(
    [D("0"), D("-0.00"), D("0E+2"), D("1.00E+3"), D("123.456"), D("1E-7"), D("12345678901234567890.12")]))
def test_a_money_text_is_the_amount_formatted_with_two_decimals(amount):
    assert texts.money_text(amount) == f"{amount:.2f}"


# -- the split, as text ------------------------------------------------------------------------------
amounts = st.decimals(min_value=0, max_value=60_000, places=2) | st.sampled_from([D("0"), D("0.0"), D("8000"),
                                                                                      D("1234.5"), D("0E+2")])


@given(amounts, st.sampled_from([None, D("0"), D("200"), D("750.00"), D("750")]),
       st.sampled_from(sorted(p.SCHEDULES)))
@settings(max_examples=300, deadline=None)
def test_the_split_as_text_is_the_split_formatted(amount, contribution, plan):
    line = Line("c", "a", None, None, 1, date(2025, 9, 1), date(2026, 8, 31), date(2026, 8, 31), 12, "months",
                amount, "R2025", "funded", contribution)
    expected = tuple((f"{a:.2f}", None if c is None else f"{c:.2f}") for a, c in split(line, p.SCHEDULES[plan]))
    assert _split_texts(str(amount), None if contribution is None else str(contribution), plan) == expected


# -- the advances, against the plain composition of their rules --------------------------------------
def _reference_due(rule: str, line: Line, span: Span, invoice: date, next_invoice: date | None):
    if rule == "invoice":
        return invoice, None
    if rule.startswith("month:"):
        return add_months(line.period_start, int(rule.split(":")[1])), None
    if rule == "end":
        return span.end, None
    if next_invoice is not None:
        return next_invoice, None
    return span.end, add_months(span.end, p.ATTESTATION_MONTHS)


def reference_advances(lines: list[Line], c: ContractFacts, span: Span, today: date) -> list[dict]:
    funded = [l for l in lines if l.amount is not None]
    if not funded:
        return []
    short = funded[0].regime == "R2019" and months_started(span.start, span.end) < p.SHORT_SCHEDULE_MONTHS
    plan = p.SCHEDULES["R2019_short" if short else funded[0].regime]
    invoices = [_invoice_due(l, c) for l in funded] + [None]
    out = []
    for i, line in enumerate(funded):
        for adv, (amount, contribution) in zip(plan, split(line, plan)):
            due, latest = _reference_due(adv.due, line, span, invoices[i], invoices[i + 1])
            out.append(schedule_item(line.contract_id, line.opco, line.cfa_uai, line.funding_year, adv.number,
                                     amount, due, latest, today, contribution))
    return out


def _paths(contracts: int, seed: int) -> list[list[dict]]:
    by_path: dict[str, list[dict]] = {}
    for a in generate(contracts, seed):
        for s, _, evs in a.streams:
            by_path.setdefault(a.partition_key, []).extend({"type": t, "subject": s, "data": d} for t, d in evs)
    return list(by_path.values())


@pytest.mark.parametrize("today", [date(2024, 3, 1), date(2025, 10, 1), date(2027, 6, 30)])
def test_the_advances_are_the_plain_composition_of_their_rules(today):
    referential = Referential(seed_values=dict(seed_values()))
    checked = 0
    for events in _paths(400, 11):
        result = compute(events, referential, today)
        expected = []
        for span in result.spans:
            lines = [l for l in result.lines if l.contract_id == span.contract_id]
            expected += reference_advances(lines, result.contracts[span.contract_id], span, today)
        assert result.schedule == expected
        assert [list(a) for a in result.schedule] == [list(a) for a in expected]   # the keys' order too
        checked += len(expected)
    assert checked > 1000


# -- a signature's facts -----------------------------------------------------------------------------
def test_each_fact_of_a_signature_comes_from_its_own_field():
    data = {"contract_id": "c-1", "apprentice": {"id": "app-1"}, "opco": "AKTO",
            "employer": {"siret": "11111111100011", "idcc": "1979"},
            "training": {"cfa": {"uai": "0751234J", "siret": "22222222200022"},
                         "certification": {"rncp": "RNCP1", "level": 6}, "cycle_start": "2025-08-01",
                         "remote_at_least_80_percent": True, "hours": 812},
            "contract": {"signed_on": "2025-08-20", "start_date": "2025-09-01", "planned_end_date": "2026-08-31",
                         "previous_contract_id": "c-0",
                         "duration_adjustment": {"kind": "reduction", "tripartite_convention": True}}}
    facts = fold_facts([{"type": "contract.signed", "subject": "c-1", "data": data}])["c-1"]
    assert facts == ContractFacts(
        contract_id="c-1", apprentice_id="app-1", opco="AKTO", cfa_uai="0751234J", cfa_siret="22222222200022",
        employer_siret="11111111100011", idcc="1979", rncp="RNCP1", level=6, signed_on=date(2025, 8, 20),
        start_date=date(2025, 9, 1), planned_end_date=date(2026, 8, 31), training_started_on=date(2025, 8, 1),
        previous_contract_id="c-0", reduction_with_convention=True, remote_80=True, training_hours=812, order=0)


def test_cents_rounds_half_up():
    assert cents(D("0.005")) == D("0.01") and cents(D("0.015")) == D("0.02") and cents(D("-0.005")) == D("-0.01")


# -- the funding years' amounts, against the plain formula ------------------------------------------
def _months_started_searched(start: date, end: date) -> int:
    n = 1
    while add_months(start, n) <= end:
        n += 1
    return n


def reference_lines(span: Span, c: ContractFacts, npec, contracts) -> list[tuple]:
    """lines_for as first written: Decimal denominators, min(), the rounding by keyword."""
    from decimal import ROUND_HALF_UP
    from services.financing.domain.amounts import (annual_level, employer_contribution, funding_years,
                                                   reduced_with_convention)

    def plain_cents(x):
        return x.quantize(p.CENT, rounding=ROUND_HALF_UP)

    regime = p.regime_of(c.signed_on)
    status = span.status if span.status == "refused" else ("npec_missing" if npec.amount is None else "funded")
    level = annual_level(npec.amount, regime, c.remote_80) if npec.amount is not None else None
    uplift = c.reduction_with_convention and _months_started_searched(c.start_date, c.planned_end_date) < 12
    assert uplift == reduced_with_convention(c)
    disability = min(c.disability_uplift, p.DISABILITY_UPLIFT_CAP) if c.disability_uplift else None
    contribution = employer_contribution(c, regime, contracts)
    out = []
    for k, fy_start, fy_end in funding_years(span.start, span.end):
        period_end = min(fy_end, span.end)
        if regime == "R2019":
            units, unit, denominator = _months_started_searched(fy_start, period_end), "months", Decimal(12)
        else:
            units, unit = (period_end - fy_start).days + 1, "days"
            denominator = Decimal((fy_end - fy_start).days + 1)
        amount, line_contribution = None, None
        if status == "funded":
            raw = level * units / denominator
            if uplift:
                raw = raw * (1 + p.REDUCTION_UPLIFT)
            amount = plain_cents(min(raw, level))
            if disability:
                amount += plain_cents(disability * units / denominator)
            if k == 1 and contribution is not None:
                line_contribution = contribution
                amount = max(Decimal(0), amount - contribution)
        out.append((k, fy_start, period_end, fy_end, units, unit, str(amount), regime, status,
                    str(line_contribution)))
    return out


levels = st.sampled_from([None, D("0"), D("4500"), D("7000"), D("8123.45"), D("12000.5"), D("99999.99")])


@given(st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31)), st.integers(0, 60),
       st.integers(0, 1300), st.integers(-20, 20), levels, st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([None, D("1000"), D("4000"), D("5000.50")]), st.sampled_from([None, 4, 6, 7]),
       st.booleans(), st.booleans())
@settings(max_examples=400, deadline=None)
def test_the_funding_years_are_the_plain_formula(signed_on, to_start, days, span_shift, level, remote, reduction,
                                                 convention, disability, cert_level, refused, previous_ruptured):
    from services.financing.domain.amounts import lines_for
    from services.financing.domain.npec import Npec
    start = signed_on + timedelta(days=to_start)
    end = start + timedelta(days=days)
    previous = ContractFacts("p", "a", "ATLAS", None, None, None, None, None, None, signed_on, start, end, None, None,
                             False, False, None, 0, ruptured_on=start if previous_ruptured else None)
    c = ContractFacts("c", "a", "AKTO", "0751234J", None, None, None, None, cert_level, signed_on, start, end, None,
                      "p", reduction and convention, remote, None, 1, disability_uplift=disability)
    span_start = start + timedelta(days=span_shift)
    span = Span("c", "a", "AKTO", span_start, max(end, span_start), "contract_start", "planned_end",
                "refused" if refused else "funded", 1)
    npec = Npec(level, "referential" if level is not None else "npec_missing")
    contracts = {"p": previous, "c": c}
    got = [(l.funding_year, l.period_start, l.period_end, l.fy_end, l.units, l.unit, str(l.amount), l.regime, l.status,
            str(l.employer_contribution)) for l in lines_for(span, c, npec, contracts)]
    assert got == reference_lines(span, c, npec, contracts)
