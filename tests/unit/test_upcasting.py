"""Version 1 events read as version 2 (contract_events/upcasting.py): the figures of a log
written before version 2 are the figures the code of that time computed; the patches and the
personal-data filter do what docs/cerfa.md says."""
import json
from decimal import Decimal
from datetime import date
from pathlib import Path

from hypothesis import given, strategies as st

from contract_events.cerfa import SignedV2
from contract_events.facts import fold_facts
from contract_events.publication import public_data, strip_schema
from contract_events.upcasting import (changes_to_patch, diff_patch, implied_version, merge_patch, read_data,
                                       upcast, upcast_cloudevent)
from kernel.reference.tables import seed_values
from services.contracts.api.examples import SIGN, SIGN_CERFA
from services.financing.domain.engine import compute
from services.financing.domain.npec import Referential
from services.quality.domain.analytics import planned_hours, ruptures

DATA = Path(__file__).resolve().parent.parent / "data"


def history_events() -> list[dict]:
    out = []
    for raw in (DATA / "history_v1.jsonl").read_text().splitlines():
        for s in json.loads(raw)["streams"]:
            out += [{"type": e["type"], "subject": s["stream"], "data": e["data"]} for e in s["events"]]
    return out


def figures(events: list[dict]) -> dict:
    """What tests/data/history_v1_figures.json holds: this function, run by the code of commit
    1cbae5d (before version 2) over tests/data/history_v1.jsonl (written by that code's
    generate-history)."""
    result = compute(events, Referential(seed_values=seed_values()), date(2026, 11, 25))
    facts = list(fold_facts(events).values())
    out = {"financing": result.as_dict(),
           "quality": {"ruptures_by_cfa": {by: ruptures(facts, by) for by in ("certification", "employer", "cohort")},
                       "planned_hours": {k: str(v) for k, v in planned_hours(facts).items()}}}
    return json.loads(json.dumps(out, default=str))


def comparable(out: dict) -> dict:
    """The figures, where issue 16 changed them on purpose: the R2025 employer's contribution is
    now taken from the first advance of its funding year (docs/billing.md) instead of from every
    advance's share, so a funding year with a contribution compares by its advances' sum (what the
    OPCO owes is unchanged); every other advance compares as it is."""
    out = json.loads(json.dumps(out))
    schedule = out["financing"].pop("schedule")
    with_contribution = {(a["contract_id"], a["funding_year"]) for a in schedule if "employer_contribution" in a}
    with_contribution |= {(l["contract_id"], l["funding_year"]) for l in out["financing"]["lines"]
                          if l.get("employer_contribution")}
    sums: dict = {}
    kept = []
    for a in schedule:
        key = (a["contract_id"], a["funding_year"])
        if key in with_contribution:
            sums[f"{key[0]}/{key[1]}"] = f"{Decimal(sums.get(f'{key[0]}/{key[1]}', '0')) + Decimal(a['amount']):.2f}"
        else:
            kept.append(a)
    out["financing"]["schedule"], out["financing"]["schedule_sums"] = kept, sums
    return out


def test_a_version_1_log_gives_the_figures_the_code_of_its_time_gave():
    assert comparable(figures(history_events())) == comparable(
        json.loads((DATA / "history_v1_figures.json").read_text()))


def test_the_same_log_upcast_explicitly_gives_the_same_figures():
    upcast_events = [{**e, "data": upcast(e["type"], 1, e["data"])} for e in history_events()]
    assert all(implied_version(e["type"], e["data"]) == 2 for e in upcast_events
               if e["type"] in ("contract.signed", "contract.amended"))
    assert comparable(figures(upcast_events)) == comparable(
        json.loads((DATA / "history_v1_figures.json").read_text()))


def test_a_version_1_signature_is_a_valid_version_2_document_with_every_field_in_its_section():
    v2 = upcast("contract.signed", 1, {"contract_id": "c1", **SIGN})
    SignedV2.model_validate(v2)
    assert v2["contract"]["start_date"] == SIGN["start_date"] and v2["training"]["cfa"] == SIGN["cfa"]
    assert v2["training"]["hours"] == 1350 and v2["contract"]["weekly_hours"] == 35
    assert v2["masters"] == [{"birth_date": "1980-06-01"}]
    assert [(p["starts_on"], p["pct"]) for p in v2["contract"]["pay"]] == [
        ("2024-09-28", "43"), ("2025-09-28", "51"), ("2026-04-01", "61")]


def test_a_cloudevent_is_read_at_the_version_its_dataschema_names():
    ce = {"type": "contract.signed", "dataschema": "urn:parcours:schemas:events/contract.signed/1",
          "data": {"contract_id": "c1", **SIGN}}
    up = upcast_cloudevent(ce)
    assert up["dataschema"].endswith("/2") and up["data"]["contract"]["signed_on"] == SIGN["signed_on"]
    assert read_data(ce) == up["data"] == read_data({"type": "contract.signed", "data": ce["data"]})
    current = {"type": "contract.signed", "dataschema": "urn:parcours:schemas:events/contract.signed/2",
               "data": {"contract_id": "c1", **SIGN_CERFA}}
    assert upcast_cloudevent(current) is current


def test_an_amendment_of_version_1_is_the_patch_it_meant():
    v1 = {"contract_id": "c1", "effective_on": "2025-06-01", "amendment_type": "33",
          "changes": {"planned_end_date": "2026-12-31", "opco": "AKTO", "weekly_work_hours": "30.5"}}
    assert upcast("contract.amended", 1, v1)["changes"] == {
        "contract": {"planned_end_date": "2026-12-31", "weekly_hours": 30, "weekly_minutes": 30}, "opco": "AKTO"}
    assert changes_to_patch({"planned_end_date": "2026-12-31", "contract": {"weekly_hours": 20}}) == {
        "contract": {"planned_end_date": "2026-12-31", "weekly_hours": 20}}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                        max_size=3), max_leaves=8)
documents = st.dictionaries(st.text(max_size=2), json_values.filter(lambda v: v is not None), max_size=4)


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


@given(documents, documents)
def test_the_smallest_patch_turns_one_document_into_the_other(old, new):
    old, new = _without_nulls(old), _without_nulls(new)
    assert merge_patch(old, diff_patch(old, new)) == new


def test_nothing_personal_is_published_nor_in_the_published_schema():
    data = {"contract_id": "c1", **SIGN_CERFA, "apprentice": {**SIGN_CERFA["apprentice"], "id": "app-1"}}
    public = public_data("contract.signed", 2, data)
    text = json.dumps(public)
    for secret in ("Martin", "Léa", SIGN_CERFA["apprentice"]["nir"], "Durand", "2005-03-14", "lea.martin",
                   "rh@exemple.fr", "1980-06-01"):
        assert secret not in text, secret
    assert public["apprentice"]["id"] == "app-1" and public["training"] == SIGN_CERFA["training"]
    amended = public_data("contract.amended", 2, {"changes": {"masters": [{"birth_name": "X", "job": "Chef"}]}})
    assert amended["changes"] == {"masters": [{"job": "Chef"}]}
    assert public_data("contract.signed", 1, {"master": {"name": "X", "birth_date": "1980-01-01"}}) == {"master": {}}
    schema = json.dumps(strip_schema(SignedV2.model_json_schema()))
    assert '"nir"' not in schema and '"birth_name"' not in schema and '"x-personal"' not in schema
