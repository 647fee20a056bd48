"""A simulation's events are checked without a model each (services/financing/domain/inputs.
_checked_events): the request is accepted exactly when the models accept it, with the same
errors, code and place, when they refuse it, and its events read by the computation as the
models' ``as_event()`` (an absent key as None, absent data as {})."""
import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract_events.upcasting import read_data
from operations.history_generator import generate
from services.financing.domain.inputs import (MAX_EVENTS, ReferentialIn, SimEvent, SimulationIn, _vouched,
                                              parse_simulation)
from shared.types import IsoDate


class Models(BaseModel):
    """SimulationIn as it was: every event through its SimEvent."""
    model_config = ConfigDict(extra="forbid")
    events: list[SimEvent] = Field(min_length=1, max_length=MAX_EVENTS)
    referential: ReferentialIn | None = None
    as_of: IsoDate | None = None


def _events(paths: int, seed: int) -> list[dict]:
    return [{"type": t, "subject": s, "data": d} for a in generate(paths, seed) for s, _, evs in a.streams
            for t, d in evs]


EVENTS = _events(12, 21)
FIELDS = ("type", "subject", "data", "id", "time", "dataschema")


def _as_read(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the computation reads it: ``ev["type"]``, ``read_data(ev)``, ``ev.get(...)``."""
    return {**{k: event.get(k) for k in FIELDS}, "data": read_data(event)}


def _outcome(body):
    try:
        request = parse_simulation(body)
    except ValidationError as exc:
        return "refused", [{k: repr(v) if k == "ctx" else v for k, v in e.items()} for e in exc.errors()]
    return "accepted", [_as_read(e) for e in request.events], request.as_of


def _by_models(body):
    try:
        request = Models.model_validate(body)
    except ValidationError as exc:
        return "refused", [{k: repr(v) if k == "ctx" else v for k, v in e.items()} for e in exc.errors()]
    return "accepted", [_as_read(e.as_event()) for e in request.events], request.as_of


def test_generated_events_are_checked_without_the_models_and_read_as_theirs():
    assert _vouched(EVENTS)
    body = {"events": EVENTS + [{"type": "contract.cancelled", "data": {"contract_id": "c-1"}}], "as_of": "2026-06-30"}
    assert _vouched(body["events"])
    assert _outcome(body) == _by_models(body)
    assert parse_simulation(body).events == body["events"]   # kept as given


SIGNED = next(e for e in EVENTS if e["type"] == "contract.signed")
AMENDED_V1 = {"type": "contract.amended", "subject": SIGNED["subject"],
              "data": {"changes": {"planned_end_date": "2027-01-31"}}}
SIGNED_V1 = {"type": "contract.signed", "subject": "c-v1", "data": {
    "contract_id": "c-v1", "apprentice": {"id": "a-v1", "birth_date": "2005-03-14"}, "employer": {"siret": "12345678200010", "idcc": "1486"},
    "opco": "ATLAS", "cfa": {"uai": "0751234J"}, "certification": {"rncp": "RNCP35185", "level": 5},
    "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2025-10-03", "contract_type": "11"}}


@pytest.mark.parametrize("event", [
    {**SIGNED, "dataschema": "urn:parcours:schemas:events/contract.signed/2"},   # a dataschema: the models'
    SIGNED_V1, AMENDED_V1,                                                         # upcast data checked
    {"type": "contract.cancelled", "subject": "c-1"},                              # no data
    {"type": "contract.amended", "subject": "c-1", "data": {}},
    {"type": "contract.something_new", "subject": "c-1", "data": {}},              # a type not catalogued
    {**SIGNED, "data": {**SIGNED["data"], b"k": "x"}},                             # a key the models convert
])
def test_what_the_check_does_not_vouch_for_is_read_by_the_models(event):
    body = {"events": [SIGNED, event]}
    assert not _vouched(body["events"])
    outcome = _outcome(body)
    assert outcome[0] == "accepted"
    assert outcome == _by_models(body)


CANCELLED = {"type": "contract.cancelled", "subject": "c-1", "data": {}}


@pytest.mark.parametrize("event", [
    {**CANCELLED, "subject": None}, {**CANCELLED, "subject": ""},                        # no contract named
    {**CANCELLED, "subject": "", "data": {"contract_id": ""}},
    {**CANCELLED, "subject": "x" * 65}, {**CANCELLED, "subject": "a\nb"}, {**CANCELLED, "subject": "a\x85b"},
    {**CANCELLED, "id": "a\x00"}, {**CANCELLED, "time": "t\x1f"}, {**CANCELLED, "id": 5},
    {**CANCELLED, "dataschema": "x" * 201}, {**CANCELLED, "dataschema": "a\tb"},
    {**CANCELLED, "type": "contract.Cancelled"}, {**CANCELLED, "type": "financing.cancelled"},
    {**CANCELLED, "data": None}, {**CANCELLED, "data": []}, {**CANCELLED, "data": {1: "x"}},
    {**CANCELLED, "unknown": 1}, {"subject": "c-1", "data": {}},
    {**SIGNED, "data": {**SIGNED["data"], "contract": None}},
    {**SIGNED, "data": {**SIGNED["data"], "opco": "a\nb"}}, {**SIGNED, "data": {**SIGNED["data"], 1: "x"}},
    {**SIGNED_V1, "data": {**SIGNED_V1["data"], "signed_on": "2024-02-30"}},       # the upcast data refused
])
def test_an_event_the_models_refuse_is_refused_with_their_errors(event):
    body = {"events": [SIGNED, event]}
    outcome = _outcome(body)
    assert outcome[0] == "refused"
    assert outcome == _by_models(body)


_values = st.sampled_from([None, "", "x", "c-1", 5, 1.5, True, b"c-1", [], {}, {"contract_id": "c-1"},
                           "contract.signed", "contract.cancelled", "contract.Bad", "contract.unknown_type",
                           "x" * 65, "x" * 201, "a\nb", "a\x85b", "urn:parcours:schemas:events/contract.signed/1",
                           date(2024, 1, 1)])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_request_is_accepted_and_refused_as_the_models_accept_and_refuse_it(draw):
    events = copy.deepcopy(EVENTS[:draw.draw(st.integers(1, 12))])
    for _ in range(draw.draw(st.integers(0, 3))):
        event = events[draw.draw(st.integers(0, len(events) - 1))]
        if not isinstance(event, dict):
            continue
        change = draw.draw(st.sampled_from(["set", "remove", "data", "contract_id", "replace"]))
        key = draw.draw(st.sampled_from(FIELDS + ("unknown",)))
        if change == "set":
            event[key] = draw.draw(_values)
        elif change == "remove":
            event.pop(key, None)
        elif change == "data" and isinstance(event.get("data"), dict) and event["data"]:
            event["data"].pop(draw.draw(st.sampled_from(sorted(event["data"]))))
        elif change == "contract_id" and isinstance(event.get("data"), dict):
            event["data"]["contract_id"] = draw.draw(_values)
        elif change == "replace":
            events[events.index(event)] = copy.deepcopy(draw.draw(st.sampled_from([SIGNED_V1, AMENDED_V1, None, "x", []])))
    body = {"events": draw.draw(st.sampled_from([events, tuple(events), [], {"0": events}])),
            "as_of": draw.draw(st.sampled_from(["2026-06-30", None, "2026-13-01"]))}
    assert _outcome(body) == _by_models(body)


def test_too_many_events_are_refused_as_the_models_refuse_them():
    body = {"events": [EVENTS[0]] * (MAX_EVENTS + 1)}
    assert _outcome(body) == _by_models(body)


def test_the_request_dumps_its_events_as_read():
    request = SimulationIn.model_validate({"events": EVENTS[:3]})
    assert request.model_dump()["events"] == EVENTS[:3]
