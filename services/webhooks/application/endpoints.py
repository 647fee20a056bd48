"""What a tenant does with its webhook endpoints (docs/webhooks.md): register one (its signing
secret shown once), list, read, change (URL, types, description, pause or resume), delete,
rotate the secret (the old one signs beside the new for ``ROTATION_OVERLAP``), list deliveries,
replay from a position or a time. An endpoint belongs to the key's organisation and role; another
tenant's is not found; ops keys see every endpoint."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Collection

from kernel.access import Principal
from kernel.errors import Conflict, NotFound, Refused, check_version
from services.webhooks.application.unit_of_work import Delivery, Health, WebhooksUnitOfWork
from services.webhooks.domain.endpoints import (ALL, MAX_ENDPOINTS_PER_TENANT, Endpoint, address_problems, expand,
                                                ip_literal, parse_target, scheme_problems, selection_problems)
from services.webhooks.domain.signing import secret_text

ROTATION_OVERLAP = timedelta(hours=24)   # the issue: the old secret stays valid 24 h
MAX_REPLAY = 10_000                      # messages one replay call enqueues; the answer says where to go on

Resolve = Callable[[str], Awaitable[list[str]]]


def _refused(problems: list[dict]) -> Refused:
    return Refused("webhook-refused", "The webhook endpoint is refused",
                   "; ".join(p["message"] for p in problems), errors=problems)


async def url_problems(url: str, resolve: Resolve, allowed_hosts: Collection[str]) -> list[dict]:
    """Why deliveries may not go to ``url`` (checked when it is registered, and again before each
    attempt: a name may have moved to an internal address since)."""
    target, problems = parse_target(url)
    if target is not None:
        problems = scheme_problems(target, allowed_hosts)
        if not problems:
            literal = ip_literal(target.host)
            problems = address_problems(target, [literal] if literal else await resolve(target.host), allowed_hosts)
    return problems


async def check_url(url: str, resolve: Resolve, allowed_hosts: Collection[str]) -> None:
    if problems := await url_problems(url, resolve, allowed_hosts):
        raise _refused(problems)


def _check_selection(event_types: list[str]) -> tuple[str, ...]:
    if problems := selection_problems(event_types):
        raise _refused(problems)
    return tuple(dict.fromkeys(event_types))


def owns(principal: Principal, endpoint: Endpoint) -> bool:
    return principal.role == "ops" or (endpoint.owner_role, endpoint.owner_org) == (principal.role, principal.org)


async def load(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str,
               if_match: int | None = None) -> Endpoint:
    endpoint = await uow.endpoints.get(endpoint_id)
    if endpoint is None or not owns(principal, endpoint):
        raise NotFound("webhook endpoint")
    check_version("endpoint", if_match, endpoint.version)
    return endpoint


async def register(uow: WebhooksUnitOfWork, principal: Principal, url: str, event_types: list[str],
                   description: str, now: datetime, key: bytes, resolve: Resolve,
                   allowed_hosts: Collection[str]) -> tuple[Endpoint, str]:
    """The endpoint and its secret (the only time it is shown)."""
    selection = _check_selection(event_types)
    await check_url(url, resolve, allowed_hosts)
    async with uow:
        if await uow.endpoints.count_owned(principal.role, principal.org) >= MAX_ENDPOINTS_PER_TENANT:
            raise Conflict("webhook-limit", "Too many endpoints",
                           f"An organisation has at most {MAX_ENDPOINTS_PER_TENANT} endpoints; delete one first.")
        endpoint = Endpoint(str(uuid.uuid4()), principal.role, principal.org, url, description, selection,
                            "active", now, now, None, 1)
        await uow.endpoints.add(endpoint, key)
        await uow.commit()
    return endpoint, secret_text(key)


async def change(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, if_match: int | None, now: datetime,
                 resolve: Resolve, allowed_hosts: Collection[str], *, url: str | None = None,
                 event_types: list[str] | None = None, description: str | None = None,
                 status: str | None = None) -> Endpoint:
    """Changes what is given; ``status`` active resumes a paused or failing endpoint (its waiting
    deliveries are due at once, with a new retry window), paused holds them."""
    selection = _check_selection(event_types) if event_types is not None else None
    if url is not None:
        await check_url(url, resolve, allowed_hosts)
    async with uow:
        endpoint = await load(uow, principal, endpoint_id, if_match)
        changed = replace(endpoint, url=url if url is not None else endpoint.url,
                          event_types=selection if selection is not None else endpoint.event_types,
                          description=description if description is not None else endpoint.description,
                          status=status or endpoint.status,
                          failing_since=None if status == "active" else endpoint.failing_since,
                          updated_at=now, version=endpoint.version + 1)
        await uow.endpoints.save(changed)
        if status == "active" and endpoint.status != "active":
            await uow.deliveries.retry_now(endpoint_id, now)
        await uow.commit()
    return changed


async def delete(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, if_match: int | None) -> None:
    async with uow:
        await load(uow, principal, endpoint_id, if_match)
        await uow.endpoints.delete(endpoint_id)
        await uow.commit()


async def rotate_secret(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, now: datetime,
                        key: bytes) -> tuple[Endpoint, str, datetime]:
    """The new secret (shown once) and when the previous one stops signing."""
    async with uow:
        endpoint = await load(uow, principal, endpoint_id)
        until = now + ROTATION_OVERLAP
        await uow.endpoints.rotate(endpoint_id, key, now, until)
        rotated = replace(endpoint, updated_at=now, version=endpoint.version + 1)
        await uow.endpoints.save(rotated)
        await uow.commit()
    return rotated, secret_text(key), until


async def listing(uow: WebhooksUnitOfWork, principal: Principal, now: datetime) -> list[tuple[Endpoint, Health]]:
    async with uow:
        mine = await uow.endpoints.owned_by(None, None) if principal.role == "ops" else \
            await uow.endpoints.owned_by(principal.role, principal.org)
        health = await uow.endpoints.health([e.endpoint_id for e in mine], now)
    return [(e, health[e.endpoint_id]) for e in mine]


async def one(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, now: datetime) -> tuple[Endpoint, Health]:
    async with uow:
        endpoint = await load(uow, principal, endpoint_id)
        health = await uow.endpoints.health([endpoint_id], now)
    return endpoint, health[endpoint_id]


async def deliveries(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, status: str | None,
                     before: int | None, limit: int) -> list[Delivery]:
    async with uow:
        await load(uow, principal, endpoint_id)
        return await uow.deliveries.page(endpoint_id, status, before, limit)


async def replay(uow: WebhooksUnitOfWork, principal: Principal, endpoint_id: str, from_position: int | None,
                 from_time: datetime | None, now: datetime) -> dict:
    """Deliver again, in order, what the endpoint's owner may see of its types from a position
    (or the first message at or after a time), at most ``MAX_REPLAY`` messages per call."""
    async with uow:
        endpoint = await load(uow, principal, endpoint_id)
        start = from_position if from_position is not None else await uow.messages.position_at(from_time)
        owner = Principal("", endpoint.owner_role, endpoint.owner_org)
        types = None if ALL in endpoint.event_types else expand(endpoint.event_types)
        replay_id = await uow.deliveries.next_replay_id()
        count, last = await uow.deliveries.replay(endpoint, owner, types, start, MAX_REPLAY, replay_id, now)
        await uow.commit()
    return {"replay_id": replay_id, "from_position": start, "deliveries": count, "last_position": last,
            "complete": count < MAX_REPLAY}
