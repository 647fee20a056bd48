"""Published schemas: JSON Schema of every event's data, and the AsyncAPI document of
``contracts.events``."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contract_events.catalogue import CATALOGUE
from shared.api.problems import not_found
from shared.auth import CurrentPrincipal
from shared.envelope import dataschema

router = APIRouter(tags=["schemas"])


def event_schema(event_type: str, version: int = 1) -> dict:
    model, description = CATALOGUE[event_type]
    schema = model.model_json_schema()
    if "contract_id" not in schema.get("properties", {}):
        schema.setdefault("properties", {})["contract_id"] = {"type": "string", "title": "Contract Id"}
        schema.setdefault("required", []).insert(0, "contract_id")
    schema["additionalProperties"] = True  # consumers must accept fields added later
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": dataschema(event_type, version),
            "title": event_type, "description": description, **schema}


def asyncapi() -> dict:
    messages = {t.replace(".", "_"): {
        "name": t, "title": t, "summary": CATALOGUE[t][1], "contentType": "application/cloudevents+json",
        "payload": {"type": "object", "required": ["specversion", "id", "source", "type", "subject", "data"],
                    "properties": {"specversion": {"const": "1.0"}, "id": {"type": "string", "format": "uuid"},
                                   "source": {"const": "/parcours/contracts"}, "type": {"const": t},
                                   "subject": {"type": "string", "description": "contract id"},
                                   "time": {"type": "string", "format": "date-time"},
                                   "dataschema": {"const": dataschema(t, 1)},
                                   "sequence": {"type": "string", "description": "stream version, 1-based"},
                                   "partitionkey": {"type": "string", "description": "apprentice id"},
                                   "data": {"$ref": f"#/components/schemas/{t.replace('.', '_')}"}}}}
        for t in CATALOGUE}
    schemas = {t.replace(".", "_"): {k: v for k, v in event_schema(t).items() if k not in ("$schema", "$id")}
               for t in CATALOGUE}
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


def _example(value) -> dict:
    return {200: {"content": {"application/json": {"example": value}}}}


@router.get("/v1/schemas/events", summary="Event types and their JSON Schema URLs",
            responses=_example({"event_types": [{"type": "contract.signed", "version": 1,
                                                 "url": "/v1/schemas/events/contract.signed/1"}]}))
async def list_event_schemas(principal: CurrentPrincipal):
    return {"event_types": [{"type": t, "version": 1, "dataschema": dataschema(t, 1),
                             "url": f"/v1/schemas/events/{t}/1"} for t in CATALOGUE]}


@router.get("/v1/schemas/events/{event_type}/{version}", summary="The JSON Schema of an event's data",
            responses=_example({"title": "contract.deposited", "type": "object",
                                "required": ["contract_id", "deposited_on", "deposit_number"]}))
async def get_event_schema(event_type: str, version: Annotated[int, Path(ge=1, le=1000)],
                           principal: CurrentPrincipal):
    if event_type not in CATALOGUE or version != 1:
        raise not_found("event schema")
    return event_schema(event_type, version)


@router.get("/asyncapi.json", summary="AsyncAPI document of contracts.events")
async def get_asyncapi():
    return asyncapi()
