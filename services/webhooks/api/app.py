"""The webhooks service: tenants' endpoints, the fan-out of contracts.events and financing.events
into deliveries, the delivery worker (docs/webhooks.md). Composition: routes, the consumer, the
worker, the clock, the resolver."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.webhooks.adapters.delivery_worker import DeliveryWorker
from services.webhooks.adapters.fanout_projection import FanOutProjection
from services.webhooks.adapters.http_transport import HttpTransport, resolve
from services.webhooks.adapters.tables import SCHEMA
from services.webhooks.api import webhook_routes
from shared.api.app import build_app
from shared.clock import SystemClock
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.topics import CONTRACT_EVENTS, FINANCING_EVENTS, ensure_topics
from shared.settings import Settings, get_settings

TOPICS = [CONTRACT_EVENTS, FINANCING_EVENTS]


def _worker(app: FastAPI) -> DeliveryWorker:
    if getattr(app.state, "delivery_worker", None) is None:
        s: Settings = app.state.settings
        app.state.delivery_worker = DeliveryWorker(
            app.state.engine, lambda: HttpTransport(s.webhook_timeout_seconds, s.webhook_read_limit_bytes),
            app.state.resolve, app.state.clock, s.webhook_hosts,
            per_endpoint=s.webhook_per_endpoint, poll_seconds=s.webhook_poll_seconds)
    return app.state.delivery_worker


async def fan_out_consumer(app: FastAPI, stop: asyncio.Event) -> None:
    """Consumes the topics (consumer group ``webhooks.fanout``) into deliveries."""
    s: Settings = app.state.settings
    await ensure_topics(s, TOPICS)
    runner = ConsumerRunner(app.state.engine, SCHEMA, FanOutProjection(app.state.clock), [s.topic(t) for t in TOPICS],
                            s.kafka_bootstrap, batch_size=s.consumer_batch_size, after_batch=_worker(app).wake,
                            group_id=s.topic(FanOutProjection.name))   # a group per topic prefix
    app.state.consumer = runner
    await runner.run(stop)


async def delivery_worker(app: FastAPI, stop: asyncio.Event) -> None:
    await _worker(app).run(stop)


def create_app(settings: Settings | None = None, clock=None, resolver=None) -> FastAPI:
    settings = settings or get_settings()
    app = build_app("webhooks", settings, [webhook_routes.router],
                    workers=[fan_out_consumer, delivery_worker],
                    description="Signed webhooks: the events each tenant may see, pushed (Standard Webhooks).")
    app.state.clock = clock or SystemClock()
    app.state.resolve = resolver or resolve
    app.state.delivery_worker = None
    return app
