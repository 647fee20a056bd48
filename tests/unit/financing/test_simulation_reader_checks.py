"""The simulation checks each event's data with the readers' constraints in pydantic-core's own
validators (services/financing/domain/inputs.check_data): it accepts exactly what the reader
models accept, and what it refuses is refused with the models' own errors."""
import copy
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from contract_events.readers import reader_model
from contract_events.upcasting import read_data
from operations.history_generator import generate
from services.financing.domain.inputs import _REQUIRED, _fast_or_kept, _fast_reader, check_data


def _events(paths: int, seed: int) -> list[dict]:
    return [{"type": t, "subject": s, "data": d} for a in generate(paths, seed) for s, _, evs in a.streams
            for t, d in evs]


EVENTS = [e for e in _events(60, 11) if e["type"] in _REQUIRED]
SIGNED = read_data(next(e for e in EVENTS if e["type"] == "contract.signed"))


def _functions(schema) -> list:
    if isinstance(schema, dict):
        own = [schema["function"]] if str(schema.get("type", "")).startswith("function") else []
        return own + [f for k, v in schema.items() if k != "metadata" for f in _functions(v)]
    if isinstance(schema, (list, tuple)):
        return [f for v in schema for f in _functions(v)]
    return []


def _outcome(fn, event_type, data):
    try:
        fn(event_type, data)
        return None
    except ValidationError as exc:
        # the errors as answered; a ValueError in ``ctx`` compares by identity, its repr by value
        return [{k: repr(v) if k == "ctx" else v for k, v in e.items()} for e in exc.errors()]


def _by_model(event_type, data):
    reader_model(event_type, _REQUIRED[event_type]).model_validate(data)


def _by_fast(event_type, data):
    _fast_reader(event_type).validate_python(data)


@pytest.mark.parametrize("event_type", sorted(_REQUIRED))
def test_the_readers_checks_call_no_python_validator(event_type):
    assert _functions(_fast_or_kept(reader_model(event_type, _REQUIRED[event_type]).__pydantic_core_schema__)) == []


def test_generated_events_pass_the_fast_check_itself():
    for e in EVENTS:
        _by_fast(e["type"], read_data(e))


def _set(data: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(data)
    at = out
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return out


BAD = [
    (("employer", "name"), "Cabinet\x00Mercier"),          # control character
    (("employer", "name"), "x" * 201),                     # too long
    (("apprentice", "birth_name"), ""),                    # too short
    (("apprentice", "birth_date"), "2004-13-01"),          # not a date
    (("apprentice", "birth_date"), "1899-12-31"),          # date_out_of_range
    (("apprentice", "birth_date"), "２００４-01-01"),        # digits other than ASCII
    (("apprentice", "birth_date"), 20040101),              # not a string
    (("apprentice", "birth_date"), b"2004-01-01"),         # bytes
    (("contract", "signed_on"), "2024-1-01"),
    (("contract", "duration_adjustment"), {"kind": "reduction", "justification": "a\x07b"}),   # prose
    (("contract", "derogations"), ["1"] * 6),
    (("employer", "extra"), 1),                            # unknown field in a strict section
    (("contract", "pay", 0, "pct"), "201"),
    (("training", "certification", "level"), 9),
    (("contract", "pay", 0, "gross_monthly"), "100000.01"),     # above le
    (("contract", "pay", 0, "gross_monthly"), "954.955"),       # decimal places
    (("contract", "pay", 0, "gross_monthly"), "-1"),
    (("contract", "daily_hours"), "24.5"),
    (("masters", 0, "related_experience_years"), "2.25"),
]


@pytest.mark.parametrize("path,value", BAD)
def test_what_the_model_refuses_is_refused_with_the_models_errors(path, value):
    data = _set(SIGNED, path, value)
    expected = _outcome(_by_model, "contract.signed", data)
    assert expected
    assert _outcome(_by_fast, "contract.signed", data) is not None
    assert _outcome(check_data, "contract.signed", data) == expected


@pytest.mark.parametrize("value", ["7000", "7000.5", "0", 7000, "99999999999.99", "1e3", "7000.505", "-5"])
def test_an_annual_funding_level_is_checked_as_the_model_checks_it(value):
    data = {"decided_on": "2024-09-28", "annual_funding_level": value}
    expected = _outcome(_by_model, "contract.funding_accepted", data)
    if _outcome(_by_fast, "contract.funding_accepted", data) is None:
        assert expected is None
    assert _outcome(check_data, "contract.funding_accepted", data) == expected


def test_a_date_object_the_model_accepts_is_accepted():
    data = _set(SIGNED, ("apprentice", "birth_date"), date(2004, 1, 1))
    assert _outcome(_by_model, "contract.signed", data) is None
    assert _outcome(check_data, "contract.signed", data) is None


def _leaves(value, at=()):
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, at + (k,))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in _leaves(v, at + (i,))]
    return [at]


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=12),
                    st.text(alphabet=st.characters(max_codepoint=0xa0), max_size=4),
                    st.sampled_from(["2024-02-30", "2024-02-29", "1900-01-01", "2199-12-31", "2200-01-01",
                                     "12.5", "-1", "200.01", "0.999", "x" * 300, "", "\t", "ab\x85"]),
                    st.from_regex(r"\A-?[0-9]{0,13}(\.[0-9]{0,4})?\Z"), st.decimals(allow_nan=True),
                    st.dates(), st.binary(max_size=4), st.lists(st.text(max_size=2), max_size=7))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVENTS), st.data())
def test_the_fast_check_accepts_only_what_the_model_accepts_and_answers_its_errors(event, draw):
    data = read_data(event)
    path = draw.draw(st.sampled_from(_leaves(data)))
    changed = _set(data, path, draw.draw(_values)) if path else data
    expected = _outcome(_by_model, event["type"], changed)
    if _outcome(_by_fast, event["type"], changed) is None:
        assert expected is None
    assert _outcome(check_data, event["type"], changed) == expected


def _sections(value, at=()):
    """The path of every object (the whole data included) and of every key in one."""
    out = []
    if isinstance(value, dict):
        out.append(at)
        for k, v in value.items():
            out.append(at + (k,))
            out += [p for p in _sections(v, at + (k,)) if p != at + (k,)] if isinstance(v, (dict, list)) else []
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _sections(v, at + (i,))
    return out


def _without(data: dict, path: tuple) -> dict:
    out = copy.deepcopy(data)
    at = out
    for key in path[:-1]:
        at = at[key]
    del at[path[-1]]
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVENTS), st.data())
def test_a_missing_field_or_a_section_of_another_shape_is_checked_as_the_model_checks_it(event, draw):
    """The sections are checked as typed dicts (no model's set of fields given): a field removed,
    a section replaced by something else than an object, a field added anywhere."""
    data = read_data(event)
    path = draw.draw(st.sampled_from(_sections(data)))
    change = draw.draw(st.sampled_from(["remove", "replace", "add"]))
    if change == "remove" and path:
        changed = _without(data, path)
    elif change == "replace" and path:
        changed = _set(data, path, draw.draw(st.sampled_from([None, [], [{}], "x", 1, {}, {"unknown": 1}])))
    else:
        target = copy.deepcopy(data)
        at = target
        for key in path:
            at = at[key]
        if not isinstance(at, dict):
            return
        at[draw.draw(st.sampled_from(["unknown", "id", "extra_field"]))] = draw.draw(st.sampled_from([None, 1, "x"]))
        changed = target
    expected = _outcome(_by_model, event["type"], changed)
    if _outcome(_by_fast, event["type"], changed) is None:
        assert expected is None
    assert _outcome(check_data, event["type"], changed) == expected


def _decimal_shortcuts(schema) -> list[tuple[str, dict]]:
    """(pattern, decimal schema) of every decimal the fast checks take by a pattern first."""
    if isinstance(schema, dict):
        if schema.get("type") == "union" and schema.get("mode") == "left_to_right" \
                and schema["choices"][1].get("type") == "decimal":
            return [(schema["choices"][0]["pattern"], schema["choices"][1])]
        return [d for k, v in schema.items() if k != "metadata" for d in _decimal_shortcuts(v)]
    if isinstance(schema, (list, tuple)):
        return [d for v in schema for d in _decimal_shortcuts(v)]
    return []


SHORTCUTS = sorted({(pattern, repr(decimal)): (pattern, decimal) for event_type in _REQUIRED
                    for pattern, decimal in _decimal_shortcuts(
                        _fast_or_kept(reader_model(event_type, _REQUIRED[event_type]).__pydantic_core_schema__))
                    }.values(), key=lambda d: d[0])


def test_the_decimal_shortcuts_include_those_below_le_with_a_smaller_first_digit():
    assert any("|[1-" in pattern for pattern, _ in SHORTCUTS)   # a pay line's 100 to 199 % of the SMIC


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_what_a_decimal_shortcut_takes_the_decimal_schema_accepts(draw):
    from pydantic_core import SchemaValidator
    pattern, decimal = draw.draw(st.sampled_from(SHORTCUTS))
    text = draw.draw(st.from_regex(pattern.replace("^", r"\A", 1).replace("$", r"\Z"), fullmatch=True))
    SchemaValidator(decimal).validate_python(text)
