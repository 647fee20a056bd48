"""One delivery attempt and what follows from it (docs/webhooks.md, "Retries"): the endpoint's
address checked again (a name may have moved to an internal address since it was registered),
the CloudEvent POSTed signed, the outcome recorded with the attempt; a failure schedules the next
try (backoff with jitter, Retry-After honoured), and past the retry window the endpoint is marked
failing and its deliveries wait."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection, Protocol

from services.webhooks.application.unit_of_work import Attempt, DueDelivery, WebhooksUnitOfWork
from services.webhooks.application.endpoints import Resolve, url_problems
from services.webhooks.domain.retries import gives_up, next_attempt
from services.webhooks.domain.signing import delivery_headers

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


@dataclass(frozen=True)
class Response:
    status: int | None          # None: no answer (timeout, connection refused, ...)
    outcome: str                # delivered, http_error, timeout, network_error, refused_address
    latency_ms: int | None
    retry_after: str | None = None
    error: str | None = None


class Transport(Protocol):
    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Response: ...
    async def close(self) -> None: ...


async def send(transport: Transport, resolve: Resolve, allowed_hosts: Collection[str], due: DueDelivery,
               timestamp: int) -> Response:
    if problems := await url_problems(due.url, resolve, allowed_hosts):
        return Response(None, "refused_address", None, error=problems[0]["message"])
    headers = {"content-type": CONTENT_TYPE, **delivery_headers(list(due.keys), due.message_id, timestamp, due.body)}
    return await transport.post(due.url, headers, due.body)


async def settle(uow: WebhooksUnitOfWork, due: DueDelivery, response: Response, now: datetime, draw: float) -> Attempt:
    """Record the attempt; a failure schedules the next one or, past the window, marks the
    endpoint failing."""
    delivered = response.outcome == "delivered"
    first_failed = None if delivered else (due.first_failed_at or now)
    retry_at = None if delivered else next_attempt(now, due.attempts + 1, draw, response.status, response.retry_after)
    attempt = Attempt(due.attempts + 1, now, response.outcome, response.status, response.latency_ms,
                      response.error, retry_at)
    async with uow:
        await uow.deliveries.record(due.delivery_id, attempt, delivered=delivered, first_failed_at=first_failed)
        if not delivered and gives_up(first_failed, now):
            await uow.deliveries.mark_failing(due.endpoint_id, now)
        await uow.commit()
    return attempt
