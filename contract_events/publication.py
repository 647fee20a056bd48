"""What leaves the contracts service: an event's data without its personal fields (the fields a
model marks ``x-personal``: names, NIR, birth date and place, addresses, contacts, the masters'
identity). The Kafka topic and the event feed carry this; the whole CERFA stays in the
contracts service's log, answered to the contract's CFA and OPCO only (docs/cerfa.md,
"Personal data").

The published data keeps the version it was written in (its ``dataschema`` says which); the
published JSON Schemas (``/v1/schemas/events/{type}/{n}``) describe it without the personal
fields."""
from __future__ import annotations

from functools import lru_cache
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from contract_events.catalogue import model_of
from contract_events.cerfa import PERSONAL

Data = dict[str, Any]
Shape = dict[str, Any]   # field name -> None (kept as is), "personal", or the Shape of a nested model


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (alone, in a list or as an option), None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, UnionType):
        for arg in get_args(annotation):
            if (found := nested_model(arg)) is not None:
                return found
    return None


@lru_cache
def shape(model: type[BaseModel]) -> Shape:
    """Which fields of ``model`` are personal, down through its nested models."""
    out: Shape = {}
    for name, info in model.model_fields.items():
        if info.json_schema_extra == PERSONAL:
            out[name] = "personal"
        elif (nested := nested_model(info.annotation)) is not None and (inner := shape(nested)):
            out[name] = inner
    return out


def _strip(value: Any, s: Shape) -> Any:
    """``value`` without the personal fields ``s`` names; only the nodes ``s`` reaches are copied
    (the rest is shared with ``value``, which is never changed)."""
    if isinstance(value, list):
        return [_strip(v, s) for v in value]
    if not isinstance(value, dict):
        return value
    out = None
    for key, rule in s.items():
        if key in value:
            out = out if out is not None else dict(value)   # keeps the keys' order
            if rule == "personal":
                del out[key]
            else:
                out[key] = _strip(value[key], rule)
    return value if out is None else out


def public_data(event_type: str, version: int, data: Data) -> Data:
    """``data`` as it may leave the service. An amendment's ``changes`` follow the document of
    the signature of the same version (version 1: the summary's names, version 2: the CERFA)."""
    model = model_of("contract.signed", version)
    if model is None:
        return data
    if event_type == "contract.signed":
        return _strip(data, shape(model))
    if event_type == "contract.amended" and isinstance(data.get("changes"), dict):
        return {**data, "changes": _strip(data["changes"], shape(model))}
    return data


def strip_schema(schema: Data) -> Data:
    """A JSON Schema without the properties marked personal (and out of ``required``), in
    place, ``$defs`` included."""
    for node in [schema, *schema.get("$defs", {}).values()]:
        props = node.get("properties") or {}
        personal = [k for k, v in props.items() if isinstance(v, dict) and v.get("x-personal")]
        for k in personal:
            del props[k]
        if personal and "required" in node:
            node["required"] = [r for r in node["required"] if r not in personal]
    return schema
