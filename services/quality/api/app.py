"""The quality service: Qualiopi indicators 30-32 evidence, analytics from contract events, the
dashboard (docs/quality.md). Composition: routers, the contract events consumer, the clock."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.quality.adapters.contract_projection import QualityProjection
from services.quality.adapters.quality_tables import SCHEMA
from services.quality.api import absence_routes, dashboard_routes, login_pages, record_routes
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
                            s.kafka_bootstrap, batch_size=s.consumer_batch_size,
                            group_id=s.topic(QualityProjection.name))   # a group per topic prefix
    app.state.consumer = runner
    await runner.run(stop)


def create_app(settings: Settings | None = None, clock=None) -> FastAPI:
    app = build_app("quality", settings or get_settings(),
                    [record_routes.router, absence_routes.router, dashboard_routes.router,
                     feed_router(EventStore(SCHEMA), SOURCE)],
                    workers=[contract_events_consumer], uploads={"/login": {login_pages.FORM}},
                    description="Qualiopi indicators 30-32 evidence for CFAs.")
    app.include_router(login_pages.pages_router)
    app.state.clock = clock or SystemClock()
    return app
