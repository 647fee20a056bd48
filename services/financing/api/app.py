"""The financing service: consumes contracts.events, serves what OPCOs owe CFAs."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.financing.adapters.tables import SCHEMA
from services.financing.api import contracts, fees, referential, simulations
from services.financing.application.projection import FinancingProjection
from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.clock import SystemClock
from shared.eventstore.store import EventStore
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.topics import CONTRACT_EVENTS, dlq, ensure_topics
from shared.settings import Settings, get_settings

SOURCE = "/parcours/financing"


async def contract_events_consumer(app: FastAPI, stop: asyncio.Event) -> None:
    s: Settings = app.state.settings
    await ensure_topics(s, [CONTRACT_EVENTS, dlq(CONTRACT_EVENTS)])
    runner = ConsumerRunner(app.state.engine, SCHEMA, FinancingProjection(app.state.clock),
                            [s.topic(CONTRACT_EVENTS)], s.kafka_bootstrap, batch_size=s.consumer_batch_size)
    app.state.consumer = runner
    await runner.run(stop)


def create_app(settings: Settings | None = None, clock=None) -> FastAPI:
    app = build_app("financing", settings or get_settings(),
                    [contracts.router, simulations.router, referential.router, fees.router,
                     feed_router(EventStore(SCHEMA), SOURCE)],
                    workers=[contract_events_consumer], uploads={referential.PATH: {referential.XLSX}},
                    description="What each OPCO owes each CFA, rebuilt from contract events.")
    app.state.clock = clock or SystemClock()
    return app
