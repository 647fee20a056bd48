"""Published schemas: JSON Schema of every event's data, and the AsyncAPI document of
``contracts.events`` and ``financing.events`` (the financing service's store, published by its
relay: contract_events.financing_catalogue)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from contract_events.catalogue import CATALOGUE, EARLIER, VERSIONS, model_of
from contract_events.financing_catalogue import (FINANCING_CATALOGUE, FINANCING_VERSIONS, PARTITION_KEY, SUBJECT,
                                                 financing_model_of)
from contract_events.publication import strip_schema
from shared.api.problems import not_found
from shared.auth import CurrentPrincipal
from shared.envelope import dataschema
from shared.messaging.topics import CONTRACT_EVENTS, FINANCING_EVENTS

router = APIRouter(tags=["schemas"])


def published_versions() -> list[tuple[str, int]]:
    """(type, version) of every schema a record on the topic may name, oldest first per type."""
    return [(t, v) for t in CATALOGUE for v in range(1, VERSIONS[t] + 1) if model_of(t, v) is not None]


def event_schema(event_type: str, version: int | None = None) -> dict:
    """The JSON Schema of the data a record of ``event_type`` at ``version`` carries on the topic
    (personal fields left out: contract_events.publication)."""
    version = version or VERSIONS[event_type]
    model, description = model_of(event_type, version), CATALOGUE[event_type][1]
    schema = strip_schema(model.model_json_schema())
    if "contract_id" not in schema.get("properties", {}):
        schema.setdefault("properties", {})["contract_id"] = {"type": "string", "title": "Contract Id"}
        schema.setdefault("required", []).insert(0, "contract_id")
    schema["additionalProperties"] = True  # consumers must accept fields added later
    if version < VERSIONS[event_type]:
        description += f" (version {version}: still in the log, read as version {VERSIONS[event_type]} by upcasting)"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": dataschema(event_type, version),
            "title": event_type, "description": description, **schema}


def financing_versions() -> list[tuple[str, int]]:
    """(type, version) of every schema a record on ``financing.events`` may name."""
    return [(t, v) for t in FINANCING_CATALOGUE for v in range(1, FINANCING_VERSIONS[t] + 1)
            if financing_model_of(t, v) is not None]


def _open(node: Any) -> None:
    """Every object of a schema open to fields added later (readers accept what they do not know)."""
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            node["additionalProperties"] = True
        for value in node.values():
            _open(value)
    elif isinstance(node, list):
        for value in node:
            _open(value)


def financing_event_schema(event_type: str, version: int | None = None) -> dict:
    """The JSON Schema of the data a record of a financing event carries on ``financing.events``
    (as stored: nothing personal in it)."""
    version = version or FINANCING_VERSIONS[event_type]
    schema = financing_model_of(event_type, version).model_json_schema()
    _open(schema)
    schema["additionalProperties"] = True  # consumers must accept fields added later
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": dataschema(event_type, version),
            "description": FINANCING_CATALOGUE[event_type][1], **schema, "title": event_type}


def _message_name(event_type: str, version: int) -> str:
    name = event_type.replace(".", "_")
    return name if version == VERSIONS[event_type] else f"{name}_v{version}"


def asyncapi() -> dict:
    messages = {_message_name(t, v): {
        "name": t, "title": f"{t} v{v}", "summary": CATALOGUE[t][1], "contentType": "application/cloudevents+json",
        "payload": {"type": "object", "required": ["specversion", "id", "source", "type", "subject", "data"],
                    "properties": {"specversion": {"const": "1.0"}, "id": {"type": "string", "format": "uuid"},
                                   "source": {"const": "/parcours/contracts"}, "type": {"const": t},
                                   "subject": {"type": "string", "description": "contract id"},
                                   "time": {"type": "string", "format": "date-time"},
                                   "dataschema": {"const": dataschema(t, v)},
                                   "sequence": {"type": "string", "description": "stream version, 1-based"},
                                   "partitionkey": {"type": "string", "description": "apprentice id"},
                                   "data": {"$ref": f"#/components/schemas/{_message_name(t, v)}"}}}}
        for t, v in published_versions()}
    schemas = {_message_name(t, v): _component(event_schema(t, v), _message_name(t, v)) for t, v in published_versions()}
    schemas.update({_financing_name(t, v): _component(financing_event_schema(t, v), _financing_name(t, v))
                    for t, v in financing_versions()})
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Parcours events", "version": "1.0.0",
                 "description": "Every contract lifecycle event (contracts.events) and every act of the financing "
                                "service (financing.events: invoices, certificates, payments, regularisations, "
                                "frais annexes), CloudEvents 1.0 in structured mode."},
        "servers": {"local": {"url": "127.0.0.1:9092", "protocol": "kafka"}},
        "defaultContentType": "application/cloudevents+json",
        "channels": {
            "contracts.events": {
                "description": "Key = apprentice id: one apprentice's whole path lands in one partition, in order. "
                               "Retention unlimited.",
                "subscribe": {"operationId": "receiveContractEvent",
                              "message": {"oneOf": [{"$ref": f"#/components/messages/{m}"} for m in messages]}}},
            "contracts.events.dlq": {"description": "Records a consumer could not handle, with a dlq.error header."},
            FINANCING_EVENTS: {
                "description": "Key = the account <CFA UAI>:<OPCO> for money events (one account's invoices, "
                               "payments and regularisations in one partition, in order), the apprentice id for "
                               "frais annexes. Retention unlimited.",
                "subscribe": {"operationId": "receiveFinancingEvent",
                              "message": {"oneOf": [_financing_message(t, v) for t, v in financing_versions()]}}},
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def _financing_name(event_type: str, version: int) -> str:
    name = event_type.replace(".", "_")
    return name if version == FINANCING_VERSIONS[event_type] else f"{name}_v{version}"


def _financing_message(event_type: str, version: int) -> dict:
    """A message of ``financing.events``, in the channel itself (``components.messages`` lists the
    messages of ``contracts.events``); its data is ``components.schemas.<type>``."""
    name = _financing_name(event_type, version)
    return {
        "name": event_type, "title": f"{event_type} v{version}", "summary": FINANCING_CATALOGUE[event_type][1],
        "contentType": "application/cloudevents+json",
        "payload": {"type": "object", "required": ["specversion", "id", "source", "type", "subject", "data"],
                    "properties": {"specversion": {"const": "1.0"}, "id": {"type": "string", "format": "uuid"},
                                   "source": {"const": "/parcours/financing"}, "type": {"const": event_type},
                                   "subject": {"type": "string", "description": SUBJECT[event_type]},
                                   "time": {"type": "string", "format": "date-time"},
                                   "dataschema": {"const": dataschema(event_type, version)},
                                   "sequence": {"type": "string", "description": "stream version, 1-based"},
                                   "partitionkey": {"type": "string", "description": PARTITION_KEY[event_type]},
                                   "data": {"$ref": f"#/components/schemas/{name}"}}}}


def _component(schema: dict, name: str) -> dict:
    """A schema as an AsyncAPI component: its ``$defs`` referenced from the component itself."""
    out = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    return _rebase(out, f"#/components/schemas/{name}/$defs/")


def _rebase(node: Any, base: str) -> Any:
    """``#/$defs/X`` pointers (``$ref``, a discriminator's mapping), relative to a schema's root,
    made relative to the document's."""
    if isinstance(node, dict):
        return {k: _rebase(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v, base) for v in node]
    if isinstance(node, str) and node.startswith("#/$defs/"):
        return base + node[len("#/$defs/"):]
    return node


def _example(value) -> dict:
    return {200: {"content": {"application/json": {"example": value}}}}


Topic = Literal["contracts.events", "financing.events"]


@router.get("/v1/schemas/events", summary="Event types of a topic and their JSON Schema URLs",
            responses=_example({"topic": "contracts.events",
                                "event_types": [{"type": "contract.signed", "version": 1,
                                                 "url": "/v1/schemas/events/contract.signed/1"}]}))
async def list_event_schemas(principal: CurrentPrincipal,
                             topic: Annotated[Topic, Query(description="the topic whose event types are listed")]
                             = CONTRACT_EVENTS):
    if topic == FINANCING_EVENTS:
        listed, versions = financing_versions(), FINANCING_VERSIONS
    else:
        listed, versions = published_versions(), VERSIONS
    return {"topic": topic, "event_types": [{"type": t, "version": v, "current": v == versions[t],
                                             "dataschema": dataschema(t, v), "url": f"/v1/schemas/events/{t}/{v}"}
                                            for t, v in listed]}


@router.get("/v1/schemas/events/{event_type}/{version}", summary="The JSON Schema of an event's data",
            responses=_example({"title": "contract.deposited", "type": "object",
                                "required": ["contract_id", "deposited_on", "deposit_number"]}))
async def get_event_schema(event_type: str, version: Annotated[int, Path(ge=1, le=1000)],
                           principal: CurrentPrincipal):
    if event_type in CATALOGUE and model_of(event_type, version) is not None:
        return event_schema(event_type, version)
    if financing_model_of(event_type, version) is not None:
        return financing_event_schema(event_type, version)
    raise not_found("event schema")


@router.get("/asyncapi.json", summary="AsyncAPI document of contracts.events and financing.events")
async def get_asyncapi():
    return asyncapi()
