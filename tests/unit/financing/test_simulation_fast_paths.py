"""The simulation's fast paths (issue 18) answer exactly as before: events passed through instead
of copied, the collector paused, add_months cached and without calendar.monthrange."""
import gc
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st
from pydantic import ValidationError

from kernel.collection import collection_paused
from kernel.months import add_months
from operations.history_generator import generate
from services.financing.application.simulate import simulate, simulate_json
from services.financing.domain.engine import compute
from services.financing.domain.inputs import SimEvent, parse_simulation, parse_simulation_json
from services.financing.domain.npec import NpecRow, Referential, lookup
from kernel.reference.tables import seed_values

TODAY = date(2026, 6, 30)


def request(paths: int, seed: int) -> dict:
    events = [{"type": t, "subject": s, "data": d} for a in generate(paths, seed) for s, _, evs in a.streams
              for t, d in evs]
    return {"events": events, "as_of": TODAY.isoformat()}


def test_the_collector_is_resumed_after_the_pause_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with collection_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_pause_inside_a_pause_or_with_the_collector_off_keeps_it_off():
    with collection_paused():
        with collection_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_event_as_computed_by_its_model_is_its_model_dump():
    models = [SimEvent.model_validate(e) for e in request(30, 3)["events"]]
    assert all(e.as_event() == e.model_dump() for e in models)


def test_simulate_answers_as_compute_over_the_models_events_and_leaves_the_request_alone():
    body = request(300, 5)
    parsed = parse_simulation(body)
    before = parsed.model_dump()
    expected = compute([SimEvent.model_validate(e).model_dump() for e in body["events"]],
                       Referential(seed_values=dict(seed_values())), TODAY).as_dict()
    assert json.dumps(simulate(parsed, TODAY)) == json.dumps(expected)
    assert parsed.model_dump() == before


def test_parse_simulation_json_is_parse_simulation_of_the_decoded_text():
    body = request(20, 4)
    raw = json.dumps(body)
    assert parse_simulation_json(raw) == parse_simulation(body)
    assert parse_simulation_json(raw.encode()) == parse_simulation(body)
    body["events"][0]["data"]["contract"]["start_date"] = "2024-13-01"
    with pytest.raises(ValidationError) as direct:
        parse_simulation(body)
    with pytest.raises(ValidationError) as from_text:
        parse_simulation_json(json.dumps(body))
    assert from_text.value.errors() == direct.value.errors()
    with pytest.raises(json.JSONDecodeError):
        parse_simulation_json("{")
    assert gc.isenabled()


def test_simulate_json_answers_as_simulate_of_the_parsed_text_and_resumes_the_collector():
    raw = json.dumps(request(40, 6))
    assert json.dumps(simulate_json(raw, TODAY)) == json.dumps(simulate(parse_simulation_json(raw), TODAY))
    assert gc.isenabled()
    bad = request(3, 6)
    bad["events"][0]["data"]["contract"]["signed_on"] = "2024-13-01"
    with pytest.raises(ValidationError) as direct:
        parse_simulation_json(json.dumps(bad))
    with pytest.raises(ValidationError) as together:
        simulate_json(json.dumps(bad), TODAY)
    assert together.value.errors(include_context=False) == direct.value.errors(include_context=False)
    with pytest.raises(json.JSONDecodeError):
        simulate_json("[", TODAY)
    assert gc.isenabled()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)), st.integers(-60, 60))
def test_add_months_is_the_same_day_or_the_first_of_the_next_month(d, n):
    year, month = divmod(d.year * 12 + d.month - 1 + n, 12)
    first = date(year, month + 1, 1)
    following = (first + timedelta(days=31)).replace(day=1)
    days_in_month = (following - first).days
    expected = first.replace(day=d.day) if d.day <= days_in_month else following
    assert add_months(d, n) == expected


_rows = st.lists(st.builds(NpecRow, st.sampled_from(["R1", "R2", "R3"]), st.sampled_from(["c1", "c2"]),
                           st.decimals(0, 9999, places=2), st.dates(date(2020, 1, 1), date(2026, 1, 1)),
                           st.dates(date(2020, 1, 1), date(2026, 1, 1))), max_size=30)


@given(_rows, st.sampled_from(["R1", "R2", "R3", "R4"]), st.dates(date(2020, 1, 1), date(2026, 1, 1)))
def test_the_npec_index_finds_what_a_scan_of_every_row_finds(rows, rncp, signed_on):
    ref = Referential(rows, {"1486": {"c1"}}, {"R2": "R1"}, {})
    spec = None
    for code in [rncp] + (["R1"] if rncp == "R2" else []):
        applicable = [r for r in rows if r.rncp == code and r.cpne == "c1" and r.applicable_from <= signed_on]
        if applicable:   # the latest applicability, then the latest file; the first listed of equals
            spec = max(applicable, key=lambda r: (r.applicable_from, r.file_date)).npec
            break
    assert lookup(ref, rncp, "1486", signed_on) == spec


def test_the_npec_index_follows_rows_added_or_replaced():
    row = NpecRow("R1", "c1", Decimal("5000"), date(2024, 1, 1))
    ref = Referential([], {"1486": {"c1"}})
    assert lookup(ref, "R1", "1486", date(2025, 1, 1)) is None
    ref.rows.append(row)
    assert lookup(ref, "R1", "1486", date(2025, 1, 1)) == Decimal("5000")
    ref.rows = [NpecRow("R1", "c1", Decimal("6000"), date(2024, 1, 1))]
    assert lookup(ref, "R1", "1486", date(2025, 1, 1)) == Decimal("6000")


def test_simulate_json_hands_each_event_over_once_in_order_and_keeps_none():
    from services.financing.application.simulate import _handed_over
    events = request(5, 7)["events"]
    kept = list(events)
    handed = _handed_over(events)
    assert next(handed) is kept[0] and len(events) == len(kept) - 1   # dropped as it is read
    assert [kept[0], *handed] == kept and events == []
