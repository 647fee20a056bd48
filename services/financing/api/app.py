"""The financing service: consumes contracts.events, serves what OPCOs owe CFAs (composition:
routers, the contract events consumer, the clock)."""
from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from services.financing.adapters.financing_tables import SCHEMA
from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from services.financing.api import (billing_routes, fee_claim_routes, funding_routes, invoice_page_routes,
                                    referential_routes, simulation_routes)
from services.financing.application.regularisations import propose_all
from services.financing.projection_worker import projection_runner
from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.clock import SystemClock
from shared.eventstore.store import EventStore
from shared.periodic import every
from shared.messaging.relay import OutboxRelay, make_producer
from shared.messaging.topics import CONTRACT_EVENTS, FINANCING_EVENTS, dlq, ensure_topics
from shared.settings import Settings, get_settings

SOURCE = "/parcours/financing"
log = structlog.get_logger("financing")


async def contract_events_consumer(app: FastAPI, stop: asyncio.Event) -> None:
    s: Settings = app.state.settings
    await ensure_topics(s, [CONTRACT_EVENTS, dlq(CONTRACT_EVENTS)])
    runner = projection_runner(s, app.state.engine, app.state.clock)   # the extra workers' group
    app.state.consumer = runner
    await runner.run(stop)


async def outbox_relay(app: FastAPI, stop: asyncio.Event) -> None:
    """Publish the financing store on financing.events (CloudEvents keyed by ``partitionkey``: the
    account for money events, the apprentice for fees); one relay per store (advisory lock)."""
    s: Settings = app.state.settings
    await ensure_topics(s, [FINANCING_EVENTS])
    producer = make_producer(s.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(app.state.engine, EventStore(SCHEMA), producer, s.topic(FINANCING_EVENTS), SOURCE,
                            batch_size=s.relay_batch_size, idle_seconds=s.relay_idle_seconds)
        app.state.relay = relay
        await relay.run(stop)
    finally:
        await producer.stop()


async def regularisation_pass(app: FastAPI, stop: asyncio.Event) -> None:
    """Propose the regularisations the projection's last moves call for (docs/billing.md), every
    scheduler interval; each invoice issued also proposes those of its account first."""
    async def propose() -> None:
        proposed = await propose_all(SqlUnitOfWork(app.state.engine), app.state.clock.today())
        if proposed:
            log.info("regularisations.proposed", count=proposed)
    await every(app.state.settings.scheduler_interval_seconds, stop, propose)


def create_app(settings: Settings | None = None, clock=None) -> FastAPI:
    app = build_app("financing", settings or get_settings(),
                    [funding_routes.router, simulation_routes.router, referential_routes.router,
                     fee_claim_routes.router, invoice_page_routes.router,   # {id}.html before billing's {id}
                     billing_routes.router, feed_router(EventStore(SCHEMA), SOURCE)],
                    workers=[contract_events_consumer, outbox_relay, regularisation_pass],
                    uploads={referential_routes.PATH: {referential_routes.XLSX}},
                    description="What each OPCO owes each CFA, rebuilt from contract events.")
    app.state.clock = clock or SystemClock()
    return app
