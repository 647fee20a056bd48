"""Published schemas: JSON Schema of every event's data, and the AsyncAPI document of
``contracts.events``."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contract_events.catalogue import CATALOGUE, EARLIER, VERSIONS, model_of
from contract_events.publication import strip_schema
from shared.api.problems import not_found
from shared.auth import CurrentPrincipal
from shared.envelope import dataschema

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
    schemas = {_message_name(t, v): _component(event_schema(t, v)) for t, v in published_versions()}
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Parcours contract events", "version": "1.0.0",
                 "description": "Every contract lifecycle event, CloudEvents 1.0 in structured mode."},
        "servers": {"local": {"url": "127.0.0.1:9092", "protocol": "kafka"}},
        "defaultContentType": "application/cloudevents+json",
        "channels": {
            "contracts.events": {
                "description": "Key = apprentice id: one apprentice's whole path lands in one partition, in order. "
                               "Retention unlimited.",
                "subscribe": {"operationId": "receiveContractEvent",
                              "message": {"oneOf": [{"$ref": f"#/components/messages/{m}"} for m in messages]}}},
            "contracts.events.dlq": {"description": "Records a consumer could not handle, with a dlq.error header."},
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def _component(schema: dict) -> dict:
    """A schema as an AsyncAPI component: its ``$defs`` referenced from the component itself."""
    out = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    return out


def _example(value) -> dict:
    return {200: {"content": {"application/json": {"example": value}}}}


@router.get("/v1/schemas/events", summary="Event types and their JSON Schema URLs",
            responses=_example({"event_types": [{"type": "contract.signed", "version": 1,
                                                 "url": "/v1/schemas/events/contract.signed/1"}]}))
async def list_event_schemas(principal: CurrentPrincipal):
    return {"event_types": [{"type": t, "version": v, "current": v == VERSIONS[t], "dataschema": dataschema(t, v),
                             "url": f"/v1/schemas/events/{t}/{v}"} for t, v in published_versions()]}


@router.get("/v1/schemas/events/{event_type}/{version}", summary="The JSON Schema of an event's data",
            responses=_example({"title": "contract.deposited", "type": "object",
                                "required": ["contract_id", "deposited_on", "deposit_number"]}))
async def get_event_schema(event_type: str, version: Annotated[int, Path(ge=1, le=1000)],
                           principal: CurrentPrincipal):
    if event_type not in CATALOGUE or model_of(event_type, version) is None:
        raise not_found("event schema")
    return event_schema(event_type, version)


@router.get("/asyncapi.json", summary="AsyncAPI document of contracts.events")
async def get_asyncapi():
    return asyncapi()
