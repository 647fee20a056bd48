"""The contracts service (command side of the contract lifecycle)."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.contracts.adapters.unit_of_work import store
from services.contracts.api.contracts import SOURCE, router
from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.messaging.relay import OutboxRelay, make_producer
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from shared.settings import Settings, get_settings


async def outbox_relay(app: FastAPI, stop: asyncio.Event) -> None:
    s: Settings = app.state.settings
    await ensure_topics(s, [CONTRACT_EVENTS])
    producer = make_producer(s.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(app.state.engine, store, producer, s.topic(CONTRACT_EVENTS), SOURCE,
                            batch_size=s.relay_batch_size, idle_seconds=s.relay_idle_seconds)
        app.state.relay = relay
        await relay.run(stop)
    finally:
        await producer.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app("contracts", settings or get_settings(), [router, feed_router(store, SOURCE)],
                     workers=[outbox_relay],
                     description="Signs and follows apprenticeship contracts; publishes contracts.events.")
