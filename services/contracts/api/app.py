"""The contracts service (command side of the contract lifecycle)."""
from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from contract_events.publication import public_data
from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.contracts_relay import contracts_relay
from services.contracts.adapters.deadline_scheduler import tick
from services.contracts.api import deca_routes, schemas
from services.contracts.api.contracts import router
from services.contracts.api.event_source import SOURCE
from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.clock import SystemClock
from shared.periodic import every
from shared.messaging.relay import make_producer
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from shared.settings import Settings, get_settings

log = structlog.get_logger("contracts")


async def outbox_relay(app: FastAPI, stop: asyncio.Event) -> None:
    s: Settings = app.state.settings
    await ensure_topics(s, [CONTRACT_EVENTS])
    producer = make_producer(s.kafka_bootstrap)
    await producer.start()
    try:
        relay = contracts_relay(app.state.engine, producer, s)
        app.state.relay = relay
        await relay.run(stop)
    finally:
        await producer.stop()


async def deadline_scheduler(app: FastAPI, stop: asyncio.Event) -> None:
    async def raise_due() -> None:
        raised = await tick(app.state.engine, app.state.clock.today())
        if raised:
            log.info("scheduler.raised", events=raised)
    await every(app.state.settings.scheduler_interval_seconds, stop, raise_due)


def create_app(settings: Settings | None = None, clock=None) -> FastAPI:
    app = build_app("contracts", settings or get_settings(),
                    [router, schemas.router, feed_router(store, SOURCE, public_data)],
                    workers=[outbox_relay, deadline_scheduler], uploads={deca_routes.PATH: {deca_routes.CSV}},
                    description="Signs and follows apprenticeship contracts; publishes contracts.events.")
    app.state.clock = clock or SystemClock()
    return app
