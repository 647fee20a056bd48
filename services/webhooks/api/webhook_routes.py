"""Webhook endpoints over HTTP (docs/webhooks.md): register, list, read, change, pause or resume,
delete, rotate the secret, see each delivery and its attempts, replay. Every call needs a key;
an endpoint belongs to the key's organisation (ops keys see all)."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.webhooks.api.dependencies import AllowedHosts, Now, Resolver, SnapshotUnitOfWork, UnitOfWork
from services.webhooks.application import endpoints as handlers
from services.webhooks.application.unit_of_work import Delivery, Health
from services.webhooks.domain.endpoints import (EVENT_TYPES, MAX_EVENT_TYPES, MAX_URL_LENGTH, SETTABLE_STATUSES,
                                                Endpoint)
from services.webhooks.domain.signing import SECRET_BYTES
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.api.if_match import IfMatch, parse_if_match
from shared.api.problems import Problem
from shared.auth import CurrentPrincipal
from shared.types import IsoDateTime, Line

router = APIRouter(tags=["webhooks"])
EndpointId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                                 description="the endpoint's id")]
Url = Annotated[str, Field(min_length=8, max_length=MAX_URL_LENGTH, description="https:// URL receiving the POSTs")]
EventType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^(\*|[a-z_]+(\.[a-z_]+|\.\*)?)$")]
Types = Annotated[list[EventType], Field(min_length=1, max_length=MAX_EVENT_TYPES,
                                         description="event types, families (contract.*) or * for all")]
Description = Annotated[Line, Field(max_length=500)]

ENDPOINT_EXAMPLE = {"url": "https://erp.example-cfa.fr/parcours/webhooks", "event_types": ["contract.*", "invoice.*"],
                    "description": "ERP, production"}
ENDPOINT_ANSWER = {"endpoint_id": "6f1c8a5e-...", "url": ENDPOINT_EXAMPLE["url"],
                   "description": "ERP, production", "event_types": ["contract.*", "invoice.*"], "status": "active",
                   "failing_since": None, "owner": {"role": "cfa", "org": "0751234J"},
                   "created_at": "2026-11-25T10:00:00+00:00", "updated_at": "2026-11-25T10:00:00+00:00", "version": 1,
                   "health": {"pending": 0, "oldest_pending_at": None, "last_attempt_at": None, "last_outcome": None}}
DELIVERY_EXAMPLE = {"delivery_id": 12, "message_id": "8f1b...", "position": 42, "type": "contract.ruptured",
                    "replay_id": 0, "status": "delivered", "attempts": 2, "next_attempt_at": None,
                    "created_at": "2026-11-25T10:00:01+00:00", "delivered_at": "2026-11-25T10:00:07+00:00",
                    "history": [{"attempt": 1, "attempted_at": "2026-11-25T10:00:01+00:00", "outcome": "http_error",
                                 "status_code": 500, "latency_ms": 12, "error": "HTTP 500",
                                 "next_attempt_at": "2026-11-25T10:00:06+00:00"},
                                {"attempt": 2, "attempted_at": "2026-11-25T10:00:07+00:00", "outcome": "delivered",
                                 "status_code": 200, "latency_ms": 9, "error": None, "next_attempt_at": None}]}


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    event_types: Types
    description: Description = ""


class EndpointChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    event_types: Types | None = None
    description: Description | None = None
    status: Literal[SETTABLE_STATUSES] | None = Field(default=None, description="active (resume) or paused")

    @model_validator(mode="after")
    def _something(self):
        if not self.model_fields_set:
            raise ValueError("name at least one of url, event_types, description, status")
        return self


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ReplayAsked(BaseModel):
    """What an idempotent replay is fingerprinted by (its start is in the query)."""
    start: str


def _health(h: Health) -> dict:
    return {"pending": h.pending, "oldest_pending_at": h.oldest_pending_at, "last_attempt_at": h.last_attempt_at,
            "last_outcome": h.last_outcome}


def _view(e: Endpoint, health: Health | None = None) -> dict:
    out = {"endpoint_id": e.endpoint_id, "url": e.url, "description": e.description,
           "event_types": list(e.event_types), "status": e.status, "failing_since": e.failing_since,
           "owner": {"role": e.owner_role, "org": e.owner_org}, "created_at": e.created_at,
           "updated_at": e.updated_at, "version": e.version}
    if health is not None:
        out["health"] = _health(health)
    return out


def _delivery(d: Delivery) -> dict:
    return {"delivery_id": d.delivery_id, "message_id": d.message_id, "position": d.position, "type": d.type,
            "replay_id": d.replay_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "created_at": d.created_at, "delivered_at": d.delivered_at,
            "history": [{"attempt": a.attempt, "attempted_at": a.attempted_at, "outcome": a.outcome,
                         "status_code": a.status_code, "latency_ms": a.latency_ms, "error": a.error,
                         "next_attempt_at": a.next_attempt_at} for a in d.history]}


def _etagged(status: int, view: dict, extra: dict | None = None) -> Outcome:
    # as JSON values (datetimes as ISO strings): the idempotent answers are stored as JSON
    return Outcome(status, jsonable_encoder({**view, **(extra or {})}),
                   {"ETag": f'"{view["version"]}"', "Location": f"/v1/webhooks/{view['endpoint_id']}"})


@router.get("/v1/webhooks/event-types", summary="The event types an endpoint may ask for",
            responses={200: {"content": {"application/json": {"example": {"event_types": ["contract.signed"]}}}}})
async def get_event_types(principal: CurrentPrincipal):
    return {"event_types": list(EVENT_TYPES), "families": sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES}),
            "all": "*"}


@router.post("/v1/webhooks", status_code=201, summary="Register an endpoint (its signing secret is shown once)",
             responses={201: {"content": {"application/json": {"example": {
                 **ENDPOINT_ANSWER, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}}})
async def post_endpoint(body: Annotated[EndpointIn, Body(openapi_examples={"an ERP": {"value": ENDPOINT_EXAMPLE}})],
                        request: Request, uow: UnitOfWork, principal: CurrentPrincipal, now: Now,
                        resolve: Resolver, allowed: AllowedHosts, idempotency_key: IdempotencyKey = None):
    async def register() -> Outcome:
        endpoint, secret = await handlers.register(uow, principal, body.url, body.event_types, body.description, now,
                                                   secrets.token_bytes(SECRET_BYTES), resolve, allowed)
        return _etagged(201, _view(endpoint), {"secret": secret})
    return respond(await run_once(request, uow, principal, idempotency_key, body, register))


@router.get("/v1/webhooks", summary="This organisation's endpoints and their health (ops: all)",
            responses={200: {"content": {"application/json": {"example": {"endpoints": [ENDPOINT_ANSWER]}}}}})
async def get_endpoints(uow: SnapshotUnitOfWork, principal: CurrentPrincipal, now: Now):
    return {"endpoints": [_view(e, h) for e, h in await handlers.listing(uow, principal, now)]}


@router.get("/v1/webhooks/{endpoint_id}", summary="One endpoint and its health",
            responses={200: {"content": {"application/json": {"example": ENDPOINT_ANSWER}}}})
async def get_endpoint(endpoint_id: EndpointId, uow: SnapshotUnitOfWork, principal: CurrentPrincipal, now: Now):
    endpoint, health = await handlers.one(uow, principal, endpoint_id, now)
    o = _etagged(200, _view(endpoint, health))
    return respond(o)


@router.patch("/v1/webhooks/{endpoint_id}", summary="Change, pause or resume an endpoint",
              responses={200: {"content": {"application/json": {"example": ENDPOINT_ANSWER}}}})
async def patch_endpoint(endpoint_id: EndpointId,
                         body: Annotated[EndpointChange, Body(openapi_examples={"pause": {"value": {"status": "paused"}}})],
                         uow: UnitOfWork, principal: CurrentPrincipal, now: Now, resolve: Resolver,
                         allowed: AllowedHosts, if_match: IfMatch = None):
    changed = await handlers.change(uow, principal, endpoint_id, parse_if_match(if_match), now, resolve, allowed,
                                    url=body.url, event_types=body.event_types, description=body.description,
                                    status=body.status)
    return respond(_etagged(200, _view(changed)))


@router.delete("/v1/webhooks/{endpoint_id}", status_code=204, summary="Delete an endpoint and its deliveries",
               response_class=Response)
async def delete_endpoint(endpoint_id: EndpointId, uow: UnitOfWork, principal: CurrentPrincipal,
                          if_match: IfMatch = None):
    await handlers.delete(uow, principal, endpoint_id, parse_if_match(if_match))
    return Response(status_code=204)


@router.post("/v1/webhooks/{endpoint_id}/secret-rotation",
             summary="A new signing secret (shown once); the previous one signs too for 24 h",
             responses={200: {"content": {"application/json": {"example": {
                 **ENDPOINT_ANSWER, "secret": "whsec_...", "previous_secret_expires_at": "2026-11-26T10:00:00+00:00"}}}}})
async def post_rotation(endpoint_id: EndpointId, body: Annotated[Nothing | None, Body()] = None, *,
                        request: Request, uow: UnitOfWork, principal: CurrentPrincipal, now: Now,
                        idempotency_key: IdempotencyKey = None):
    async def rotate() -> Outcome:
        endpoint, secret, until = await handlers.rotate_secret(uow, principal, endpoint_id, now,
                                                               secrets.token_bytes(SECRET_BYTES))
        return _etagged(200, _view(endpoint), {"secret": secret, "previous_secret_expires_at": until})
    return respond(await run_once(request, uow, principal, idempotency_key, body or Nothing(), rotate))


@router.get("/v1/webhooks/{endpoint_id}/deliveries", summary="Each delivery and its attempts, newest first",
            responses={200: {"content": {"application/json": {"example": {"deliveries": [DELIVERY_EXAMPLE],
                                                                          "next": None}}}}})
async def get_deliveries(endpoint_id: EndpointId, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                         status: Literal["pending", "delivered"] | None = None,
                         before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="a delivery_id: older ones")] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100):
    page = await handlers.deliveries(uow, principal, endpoint_id, status, before, limit)
    nxt = None
    if len(page) == limit:
        nxt = f"/v1/webhooks/{endpoint_id}/deliveries?before={page[-1].delivery_id}&limit={limit}" + \
            (f"&status={status}" if status else "")
    return {"deliveries": [_delivery(d) for d in page], "next": nxt}


@router.post("/v1/webhooks/{endpoint_id}/replay", status_code=202,
             summary="Send again, in order, what the endpoint may see from a position or a time",
             responses={202: {"content": {"application/json": {"example": {
                 "replay_id": 3, "from_position": 40, "deliveries": 2, "last_position": 42, "complete": True}}}}})
async def post_replay(endpoint_id: EndpointId, request: Request, uow: UnitOfWork, principal: CurrentPrincipal, now: Now,
                      from_: Annotated[str, Query(alias="from", min_length=1, max_length=40,
                                                  description="a position (from the deliveries) or a UTC timestamp")],
                      body: Annotated[Nothing | None, Body()] = None, idempotency_key: IdempotencyKey = None):
    position, when = _start(from_)

    async def replay() -> Outcome:
        return Outcome(202, await handlers.replay(uow, principal, endpoint_id, position, when, now), {})
    return respond(await run_once(request, uow, principal, idempotency_key, _ReplayAsked(start=from_), replay))


def _start(value: str) -> tuple[int | None, datetime | None]:
    if value.isdigit() and len(value) <= 18:
        return int(value), None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise Problem(422, "validation-error", "The request is not valid",
                      "from is a position (digits) or a timestamp with its offset (2026-11-25T10:00:00Z).",
                      errors=[{"field": "from", "code": "invalid_start", "message": "A position or a UTC timestamp."}])
    return None, when
