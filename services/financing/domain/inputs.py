"""What a simulation accepts: contract events in the catalogue's shape and optional NPEC rows.
Each event type's data is checked for the fields the rules read (other fields are kept)."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial
from typing import Annotated, Any

import orjson
from pydantic import (BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, WrapValidator,
                      model_validator)
from pydantic_core import SchemaValidator, core_schema

try:   # pydantic's own length checks, as it writes them after a Python validator (private names)
    from pydantic._internal._validators import max_length_validator, min_length_validator
except ImportError:   # another pydantic: such fields keep their Python checks (slower, same answers)
    max_length_validator = min_length_validator = None

from contract_events.catalogue import CATALOGUE
from contract_events.readers import reader_model
from kernel.collection import collection_paused
from contract_events.upcasting import CURRENT_VERSIONS, read_data
from services.financing.domain.npec import NpecRow, Referential
from shared.types import (EARLIEST_DATE, LATEST_DATE, LINE_PATTERN, PROSE_PATTERN, IsoDate, Line,
                          _iso_date, _line, _plausible, _prose)   # recognised in the readers' schemas


# What the funding rules read of each event; the rest of the published payload is optional and
# unknown fields are kept (contract_events.readers).
_REQUIRED: dict[str, frozenset[str]] = {
    "contract.signed": frozenset({"apprentice", "contract", "training"}),
    "contract.funding_accepted": frozenset({"annual_funding_level"}),
    "contract.ruptured": frozenset({"ruptured_on"}),
    "contract.post_rupture_training_ended": frozenset({"ended_on"}),
    "contract.completed": frozenset({"ended_on"}),
    "contract.rehired": frozenset({"signed_on"}),
    "contract.deposited": frozenset(), "contract.amended": frozenset(),
}


# -- the readers' checks in one pass of pydantic-core ---------------------------------------------
# The published models write ``Line`` and ``IsoDate`` with Python validators (shared/types: no
# control character; YYYY-MM-DD between 1900 and 2199), and a length on such a field becomes a
# Python validator too: a signature's CERFA called about 40 Python functions a validation, most
# of the simulation's parse. ``_fast`` rewrites a reader's core schema with the same constraints
# in pydantic-core's own (a pattern, lengths, a date range, a digits pattern before a decimal)
# and nested models as typed dicts of their fields (the check keeps no instance, nor the
# defaults of absent fields). It only ever accepts what the model accepts (what it does not
# recognise keeps the model's own validator; a date object or a number where a decimal string
# is usual falls to the model); what it refuses is validated again by the model, so every error
# is the model's, code and place (tests/unit/financing/test_simulation_reader_checks.py).
_ISO_DATE = core_schema.chain_schema([
    core_schema.str_schema(strict=True, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    core_schema.date_schema(ge=EARLIEST_DATE, le=LATEST_DATE)])
_STR_KEYS = {"type", "pattern", "min_length", "max_length", "metadata"}
_MODEL_CONFIG = {"title", "extra_fields_behavior", "validate_by_alias", "validate_by_name"}
_WRAPPERS = {"nullable", "default", "list"}
_LEAVES = {"str", "int", "bool", "date", "literal", "none", "any", "float"}


class _Keep(Exception):
    """This part of the schema is kept as the model wrote it."""


def _function(schema: dict) -> Any:
    return schema.get("function", {}).get("function")


def _fast(schema: dict) -> dict:
    kind = schema["type"]
    if kind == "function-after":
        fn = _function(schema)
        if fn is _plausible:                       # IsoDate
            inner = schema["schema"]
            if (inner["type"] == "function-before" and _function(inner) is _iso_date
                    and inner["schema"] == {"type": "date"}):
                return _ISO_DATE
            raise _Keep
        inner = _fast(schema["schema"])
        if inner["type"] == "str" and set(inner) <= _STR_KEYS:
            if fn is _line and "pattern" not in inner:
                return {**inner, "pattern": LINE_PATTERN}
            if fn is _prose and "pattern" not in inner:
                return {**inner, "pattern": PROSE_PATTERN}
            for validator, key in ((max_length_validator, "max_length"), (min_length_validator, "min_length")):
                if isinstance(fn, partial) and fn.func is validator and not fn.args and key not in inner \
                        and set(fn.keywords) == {key}:
                    return {**inner, key: fn.keywords[key]}
        raise _Keep
    if kind == "model":
        config, fields = schema.get("config", {}), schema["schema"]
        if (set(config) - _MODEL_CONFIG or schema.get("custom_init") or schema.get("root_model")
                or schema.get("post_init") or fields["type"] != "model-fields" or fields.get("computed_fields")):
            raise _Keep
        return _typed_dict(fields, fields.get("extra_behavior") or config.get("extra_fields_behavior", "ignore"))
    if kind == "union":
        return {**schema, "choices": [_fast_or_kept(c) if isinstance(c, dict) else (_fast_or_kept(c[0]), c[1])
                                      for c in schema["choices"]]}
    if kind in _WRAPPERS:
        key = "items_schema" if kind == "list" else "schema"
        return {**schema, key: _fast_or_kept(schema[key])} if key in schema else schema
    if kind == "decimal":
        return _fast_decimal(schema)
    if kind in _LEAVES:
        return schema
    raise _Keep


def _typed_dict(fields: dict, extra_behavior: str) -> dict:
    """A model's fields checked as a typed dict's: the same fields, a missing one read alike (its
    default if it has one, else ``missing``: required exactly when its schema has no default),
    the extra fields by the same behaviour; but a typed dict answers a plain dict where model
    fields also build the set of the fields given (about a tenth of a signature's check; the
    check keeps nothing)."""
    if {"extras_schema", "strict", "from_attributes"} & set(fields) \
            or any(set(field) - {"type", "schema", "metadata"} for field in fields["fields"].values()):
        raise _Keep
    return core_schema.typed_dict_schema({name: _typed_dict_field(field["schema"])
                                          for name, field in fields["fields"].items()}, extra_behavior=extra_behavior)


def _typed_dict_field(schema: dict) -> dict:
    """A field with a default value (not validated, no other behaviour on error) may be absent:
    the check leaves it out rather than fill in its default. A field with a default factory keeps
    it (the model calls it); any other field is required."""
    if schema["type"] == "default" and "default" in schema and set(schema) <= {"type", "default", "metadata",
                                                                                "schema"}:
        return core_schema.typed_dict_field(_fast_or_kept(schema["schema"]), required=False)
    return core_schema.typed_dict_field(_fast_or_kept(schema), required=schema["type"] != "default")


def _fast_decimal(schema: dict) -> dict:
    """A decimal with bounds or digits checks goes through Python's Decimal (its digits through
    ``as_tuple``) for every value: a plain string of digits that cannot break them is taken first
    by a pattern (no sign, fewer whole digits than ``le`` and ``max_digits`` allow, or as many
    as ``le`` has with a smaller first digit, at most ``decimal_places`` decimals), anything else
    by the decimal schema itself."""
    if set(schema) - {"type", "ge", "le", "max_digits", "decimal_places", "metadata"} \
            or (schema.get("ge") is not None and schema["ge"] > 0):
        return schema
    places, digits, most = schema.get("decimal_places"), schema.get("max_digits"), schema.get("le")
    bounds, lead = [], 0
    if most is not None:          # below 10 ** n <= le
        n = 0
        while n < 30 and 10 ** (n + 1) <= most:
            n += 1
        bounds.append(n)
        lead = int(most // 10 ** n)    # le's first digit
    if digits is not None:
        if places is None:
            return schema
        bounds.append(digits - places)
    whole = r"[0-9]{1,%d}" % min(bounds) if bounds else r"[0-9]+"
    if bounds and min(bounds) < 1:
        return schema
    if lead > 1 and n < 30 and (digits is None or n + 1 <= digits - places):
        # n + 1 digits, the first below le's: below (first + 1) * 10 ** n <= le (a pay line's
        # 100 to 199 % of the SMIC, a master's 10 to 59 years of experience)
        whole = r"(?:[0-9]{1,%d}|[1-%d][0-9]{%d})" % (n, lead - 1, n)
    fraction = r"(\.[0-9]+)?" if places is None else (r"(\.[0-9]{1,%d})?" % places if places else "")
    return core_schema.union_schema([core_schema.str_schema(strict=True, pattern=f"^{whole}{fraction}$"), schema],
                                    mode="left_to_right")


def _fast_or_kept(schema: dict) -> dict:
    try:
        return _fast(schema)
    except _Keep:
        return schema


@lru_cache
def _fast_reader(event_type: str) -> SchemaValidator:
    return SchemaValidator(_fast_or_kept(reader_model(event_type, _REQUIRED[event_type]).__pydantic_core_schema__))


def check_data(event_type: str, data: Any) -> None:
    """The reader's validation of an event's data (read at the current version): nothing when it
    is valid, the reader model's ValidationError otherwise."""
    try:
        _fast_reader(event_type).validate_python(data)
    except ValidationError:
        reader_model(event_type, _REQUIRED[event_type]).model_validate(data)


EVENT_TYPE_PATTERN = r"^contract\.[a-z_]+$"
MAX_EVENTS = 200_000


# One event of a simulation as the caller writes it: the published shape (OpenAPI) and every
# error a refused request answers. A request passes through these models only when the check of
# ``_checked_events`` refuses it (to answer the models' own errors) or cannot vouch for it.
class SimEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    subject: Line | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    id: Line | None = None
    time: Line | None = None
    dataschema: Line | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _check(self):
        if not self.subject and not self.data.get("contract_id"):
            raise ValueError("an event names its contract: subject or data.contract_id")
        if self.type in _REQUIRED:
            check_data(self.type, read_data(self.as_event()))
        return self

    def as_event(self) -> dict[str, Any]:
        """The event as the computation reads it (``model_dump()``'s keys), its data passed
        through rather than copied: nothing downstream writes to it."""
        return {"type": self.type, "subject": self.subject, "data": self.data, "id": self.id,
                "time": self.time, "dataschema": self.dataschema}


# -- a request's events checked without a model each ----------------------------------------------
# Built and then dropped, a SimEvent a request's event (its model, the Python validator that
# checks it, a copy of its data and another of the event) cost about half the simulation's
# validation. ``_checked_events`` checks the events as given instead, in pydantic-core, each by
# its type (a tagged union over the catalogue's types, the readers' checks of ``_fast_reader``
# for their data), and keeps them as given: a dict read by the computation as it reads
# ``as_event()`` (an absent key as None, absent data as {}). It vouches only for what the models
# accept as they are: JSON's types (an exact list, dicts, strings), no ``dataschema`` and data at
# the current version (``read_data`` gives it back unchanged, so the readers check what the
# model's check reads), a subject or a data.contract_id. Anything else, and any error, is
# validated by the models again: their errors, code and place, or their events.
CHECK_CHUNK = 64      # events a call: its answer (dropped) stays in the caches (the whole list at once: +40 %)


def _event_check(event_type: str) -> dict:
    def line(max_length: int | None = None) -> dict:
        return core_schema.typed_dict_field(core_schema.nullable_schema(core_schema.str_schema(
            strict=True, pattern=LINE_PATTERN, max_length=max_length)), required=False)
    if event_type in _REQUIRED:
        data = _fast_or_kept(reader_model(event_type, _REQUIRED[event_type]).__pydantic_core_schema__)
        data = core_schema.chain_schema([core_schema.dict_schema(core_schema.str_schema(strict=True), strict=True),
                                         data]) if data["type"] != "typed-dict" else {**data, "strict": True}
    else:
        data = core_schema.dict_schema(core_schema.str_schema(strict=True), strict=True)
    return core_schema.typed_dict_schema({
        "type": core_schema.typed_dict_field(core_schema.literal_schema([event_type])),
        "subject": line(64), "data": core_schema.typed_dict_field(data), "id": line(), "time": line(),
        "dataschema": core_schema.typed_dict_field(core_schema.none_schema(), required=False),
    }, extra_behavior="forbid", strict=True)


@lru_cache(maxsize=1)
def _events_check() -> SchemaValidator:
    types = [t for t in CATALOGUE if re.fullmatch(EVENT_TYPE_PATTERN, t)]
    return SchemaValidator(core_schema.list_schema(core_schema.tagged_union_schema(
        {t: _event_check(t) for t in types}, discriminator="type"), strict=True))


def _vouched(events: Any) -> bool:
    """Whether every event passes the models as it is (see above); no error of its own."""
    if type(events) is not list or not 1 <= len(events) <= MAX_EVENTS:
        return False
    check = _events_check()
    for i in range(0, len(events), CHECK_CHUNK):
        chunk = events[i:i + CHECK_CHUNK]
        try:
            check.validate_python(chunk)
        except ValidationError:
            return False
        for e in chunk:   # checked dicts (a type, data a dict, strings), still in the caches
            data = e["data"]
            if not e.get("subject") and not data.get("contract_id"):
                return False
            if e["type"] in CURRENT_VERSIONS and read_data(e) is not data:
                return False
    return True


def _checked_events(events: Any, models: Any) -> list[dict[str, Any]]:
    if _vouched(events):
        return list(events)
    return [e.as_event() for e in models(events)]


# The events as the computation reads them; published (JSON schema) as a list of SimEvent.
Events = Annotated[list[SimEvent], Field(min_length=1, max_length=MAX_EVENTS), WrapValidator(_checked_events),
                   PlainSerializer(lambda events: events, return_type=list[dict[str, Any]])]


class NpecIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rncp: Line
    cpne: Line
    npec: Decimal = Field(ge=0)
    applicable_from: IsoDate
    file_date: IsoDate | None = None


class CpneIdccIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpne: Line
    idcc: Line


class ReferentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    npec: list[NpecIn] = Field(default_factory=list, max_length=100_000)
    cpne_idcc: list[CpneIdccIn] = Field(default_factory=list, max_length=100_000)
    replaces: dict[Line, Line] = Field(default_factory=dict)

    def to_domain(self, seed_values: dict[int, Decimal]) -> Referential:
        by_idcc: dict[str, set[str]] = {}
        for link in self.cpne_idcc:
            key = str(int(link.idcc)) if link.idcc.strip().isdigit() else link.idcc.strip()
            by_idcc.setdefault(key, set()).add(link.cpne)
        rows = [NpecRow(r.rncp, r.cpne, r.npec, r.applicable_from, r.file_date or date.min) for r in self.npec]
        return Referential(rows, by_idcc, dict(self.replaces), dict(seed_values))


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: Events     # each a dict (see _checked_events)
    referential: ReferentialIn | None = None
    as_of: IsoDate | None = None


def parse_simulation(payload: Any) -> SimulationIn:
    """Raises pydantic's ValidationError with every problem. Tens of thousands of events build
    millions of objects and no cycle: without the collector walking them (kernel.collection)."""
    with collection_paused():
        return SimulationIn.model_validate(payload)


def parse_simulation_json(raw: str | bytes) -> SimulationIn:
    """``parse_simulation(json.loads(raw))`` with the JSON decoded inside the same pause of the
    collector (the decoded request is most of the objects), by orjson. Raises
    json.JSONDecodeError (orjson's is one) or pydantic's ValidationError."""
    with collection_paused():
        return parse_simulation(orjson.loads(raw))


__all__ = ["SimulationIn", "parse_simulation", "parse_simulation_json", "ValidationError"]
