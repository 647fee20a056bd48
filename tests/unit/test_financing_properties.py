"""Properties of the funding rules, with hypothesis."""
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from services.financing.domain.engine import compute
from services.financing.domain.npec import Referential
from kernel.months import add_months, months_started

TODAY = date(2035, 1, 1)


def signed(cid, apprentice, start, end, signed_on=None, **extra):
    data = {"contract_id": cid, "apprentice": {"id": apprentice}, "opco": extra.pop("opco", "ATLAS"),
            "employer": {"idcc": "1486"}, "cfa": {"uai": "0751234J"},
            "certification": {"rncp": "RNCP35185", "level": 5},
            "signed_on": (signed_on or start).isoformat(), "start_date": start.isoformat(),
            "planned_end_date": end.isoformat(), "contract_type": "11", **extra}
    return {"type": "contract.signed", "subject": cid, "data": data}


def accepted(cid, level):
    return {"type": "contract.funding_accepted", "subject": cid,
            "data": {"decided_on": "2024-01-01", "annual_funding_level": str(level)}}


r2019_starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 6, 1))


@given(r2019_starts, st.integers(min_value=183, max_value=1095), st.integers(min_value=300, max_value=1000))
def test_an_uninterrupted_r2019_contract_is_npec_times_months_over_12(start, days, twelfths):
    npec = Decimal(12 * twelfths)  # a multiple of 12: every line is exact
    end = start + timedelta(days=days)
    result = compute([signed("c", "a", start, end), accepted("c", npec)], Referential(), TODAY)
    total = sum(Decimal(l["amount"]) for l in result.as_dict()["lines"])
    assert total == npec * months_started(start, end) / 12


def path(apprentice: str, start: date, rupture_after: int | None, continues: bool, rehire_after: int | None):
    c1, c2 = f"{apprentice}-1", f"{apprentice}-2"
    end = add_months(start, 24) - timedelta(days=1)
    events = [signed(c1, apprentice, start, end), accepted(c1, 7200)]
    if rupture_after is not None:
        r = start + timedelta(days=rupture_after)
        events.append({"type": "contract.ruptured", "subject": c1,
                       "data": {"ruptured_on": r.isoformat(), "reason": "mutual_agreement",
                                "continues_training": continues}})
        if rehire_after is not None:
            s = r + timedelta(days=rehire_after)
            events += [signed(c2, apprentice, s, s + timedelta(days=400), previous_contract_id=c1, opco="AKTO"),
                       accepted(c2, 6000),
                       {"type": "contract.rehired", "subject": c1,
                        "data": {"new_contract_id": c2, "signed_on": s.isoformat()}}]
    return events


paths = st.builds(path, st.sampled_from(["a", "b", "c"]), r2019_starts,
                  st.one_of(st.none(), st.integers(min_value=1, max_value=600)), st.booleans(),
                  st.one_of(st.none(), st.integers(min_value=1, max_value=300)))


@settings(max_examples=60)
@given(st.lists(paths, min_size=1, max_size=3, unique_by=lambda p: p[0]["data"]["apprentice"]["id"]), st.randoms())
def test_the_total_never_depends_on_how_apprentices_interleave(all_paths, rnd):
    in_order = [e for p in all_paths for e in p]
    queues = [list(p) for p in all_paths]
    shuffled = []
    while any(queues):  # interleave apprentices at random, each apprentice's own order kept
        q = rnd.choice([q for q in queues if q])
        shuffled.append(q.pop(0))
    a = compute(in_order, Referential(), TODAY).totals_by_opco()
    b = compute(shuffled, Referential(), TODAY).totals_by_opco()
    assert a == b


@settings(max_examples=80)
@given(paths, st.one_of(st.none(), st.integers(min_value=1, max_value=200)))
def test_spans_stay_within_3_months_before_and_6_months_after(events, pre_days):
    if pre_days is not None:
        events[0]["data"]["training_started_on"] = (date.fromisoformat(events[0]["data"]["start_date"])
                                                   - timedelta(days=pre_days)).isoformat()
    result = compute(events, Referential(), TODAY)
    for span in result.spans:
        c = result.contracts[span.contract_id]
        assert span.start >= add_months(c.start_date, -3)
        if c.ruptured_on is not None:
            assert span.end <= add_months(c.ruptured_on, 6) - timedelta(days=1)
            assert span.end >= c.ruptured_on
