"""The quality service: Qualiopi indicators 30-32 evidence, analytics from contract events, the
dashboard."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.quality.adapters.tables import SCHEMA
from services.quality.api import dashboard, records
from services.quality.application.projection import QualityProjection
from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.clock import SystemClock
from shared.eventstore.store import EventStore
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.topics import CONTRACT_EVENTS, dlq, ensure_topics
from shared.settings import Settings, get_settings

SOURCE = "/parcours/quality"


async def contract_events_consumer(app: FastAPI, stop: asyncio.Event) -> None:
    s: Settings = app.state.settings
    await ensure_topics(s, [CONTRACT_EVENTS, dlq(CONTRACT_EVENTS)])
    runner = ConsumerRunner(app.state.engine, SCHEMA, QualityProjection(), [s.topic(CONTRACT_EVENTS)],
                            s.kafka_bootstrap, batch_size=s.consumer_batch_size)
    app.state.consumer = runner
    await runner.run(stop)


def create_app(settings: Settings | None = None, clock=None) -> FastAPI:
    app = build_app("quality", settings or get_settings(),
                    [records.router, dashboard.router, feed_router(EventStore(SCHEMA), SOURCE)],
                    workers=[contract_events_consumer], uploads={"/login": {dashboard.FORM}},
                    description="Qualiopi indicators 30-32 evidence for CFAs.")
    app.include_router(dashboard.pages_router)
    app.state.clock = clock or SystemClock()
    return app
