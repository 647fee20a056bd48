"""CloudEvents 1.0 envelope (structured JSON mode) for recorded events, on Kafka and in feeds."""
from __future__ import annotations

import json
from typing import Any, Callable

import orjson

from shared.eventstore.model import RecordedEvent

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
SCHEMA_BASE_URI = "urn:parcours:schemas:events"
REQUIRED = ("specversion", "id", "source", "type")


def dataschema(event_type: str, version: int) -> str:
    return f"{SCHEMA_BASE_URI}/{event_type}/{version}"


# What of an event's data may leave its service: (type, version, data) -> data. The contracts
# service removes personal fields (contract_events.publication); other services publish as stored.
Publishable = Callable[[str, int, dict[str, Any]], dict[str, Any]]


def as_stored(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    return data


def to_cloudevent(ev: RecordedEvent, source: str, *, with_position: bool = False,
                  publishable: Publishable = as_stored) -> dict[str, Any]:
    ce: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(ev.event_id),
        "source": source,
        "type": ev.type,
        "subject": ev.stream_id,
        "time": ev.recorded_at.isoformat(),
        "datacontenttype": "application/json",
        "dataschema": dataschema(ev.type, ev.schema_version),
        "sequence": str(ev.stream_version),
        "partitionkey": str(ev.metadata.get("partitionkey") or ev.stream_id),
    }
    if ev.metadata.get("traceparent"):
        ce["traceparent"] = ev.metadata["traceparent"]
    if with_position:
        ce["position"] = ev.global_position
    ce["data"] = publishable(ev.type, ev.schema_version, ev.data)
    return ce


def encode(ce: dict[str, Any]) -> bytes:
    return json.dumps(ce, separators=(",", ":"), ensure_ascii=False).encode()


class InvalidEnvelope(ValueError):
    pass


def decode(raw: bytes) -> dict[str, Any]:
    """Parse a structured-mode record value; raises InvalidEnvelope when it is not one."""
    try:
        ce = orjson.loads(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidEnvelope(f"not JSON: {exc}") from None
    if not isinstance(ce, dict):
        raise InvalidEnvelope("not a JSON object")
    missing = [k for k in REQUIRED if not ce.get(k)]
    if missing:
        raise InvalidEnvelope(f"missing CloudEvents attributes: {', '.join(missing)}")
    if ce["specversion"] != SPEC_VERSION:
        raise InvalidEnvelope(f"unsupported specversion {ce['specversion']}")
    if not isinstance(ce.get("data", {}), dict):
        raise InvalidEnvelope("data must be a JSON object")
    return ce
