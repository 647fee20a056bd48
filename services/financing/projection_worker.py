"""A financing projection worker: the live consumer of contracts.events alone, no HTTP.

``python -m services.financing.projection_worker`` joins the consumer group the financing
service's own consumer is in (``financing.contracts``); Kafka spreads the topic's partitions
over every member, and the consumer runner keeps each event's effect exactly once whoever
applies it (shared/messaging/consumer.py, docs/scaling.md "Projection workers"). `make run`
starts ``PARCOURS_FINANCING_WORKERS`` of them beside the service. SIGTERM or SIGINT: the batch
in flight commits, the worker leaves the group (its partitions move at once) and exits 0.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal

import structlog

from services.financing.adapters.financing_projection import FinancingProjection
from services.financing.adapters.financing_tables import SCHEMA
from shared.clock import SystemClock
from shared.db import make_engine
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.topics import CONTRACT_EVENTS, dlq, ensure_topics
from shared.observability import configure_logging
from shared.outage import is_unavailable, outage_log
from shared.settings import Settings, get_settings

log = structlog.get_logger("financing.projection_worker")
RESTART_SECONDS = 1.0   # after a failure, as the service's supervised workers


def projection_runner(settings: Settings, engine, clock, group_id: str | None = None) -> ConsumerRunner:
    """The live financing consumer, as the service and the workers run it: by default in the
    group of the stack's topic prefix (``<prefix>financing.contracts``), so stacks sharing a
    broker (tests, the fault trial) never join, nor rebalance, each other's group."""
    return ConsumerRunner(engine, SCHEMA, FinancingProjection(clock), [settings.topic(CONTRACT_EVENTS)],
                          settings.kafka_bootstrap, batch_size=settings.consumer_batch_size,
                          group_id=group_id or settings.topic(FinancingProjection.name))


async def run_worker(settings: Settings, stop: asyncio.Event, group_id: str | None = None) -> None:
    """Consume until ``stop`` is set; a failure (PostgreSQL or Kafka down) restarts the consumer
    after a second, from the offsets PostgreSQL holds."""
    await ensure_topics(settings, [CONTRACT_EVENTS, dlq(CONTRACT_EVENTS)])
    engine = make_engine(settings, pool_size=2)
    try:
        while not stop.is_set():
            runner = projection_runner(settings, engine, SystemClock(), group_id)
            try:
                await runner.run(stop)
            except Exception as exc:  # noqa: BLE001 - restarted whatever stopped it
                if is_unavailable(exc):
                    outage_log.failed("worker.dependency_unavailable", exc, worker="financing.projection")
                else:
                    log.exception("worker.failed", worker="financing.projection")
                try:
                    await asyncio.wait_for(stop.wait(), RESTART_SECONDS)
                except asyncio.TimeoutError:
                    pass
    finally:
        await engine.dispose()


async def main(group_id: str | None, metrics_port: int) -> None:
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if metrics_port:
        from prometheus_client import start_http_server
        start_http_server(metrics_port, addr="127.0.0.1")
    group = group_id or settings.topic(FinancingProjection.name)
    log.info("projection_worker.started", group=group, topic=settings.topic(CONTRACT_EVENTS), pid=os.getpid())
    await run_worker(settings, stop, group)
    log.info("projection_worker.stopped", group=group, pid=os.getpid())


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.financing.projection_worker",
                                     description="Run the live financing projection consumer (no HTTP).")
    parser.add_argument("--group", default=None,
                        help=f"the Kafka consumer group (default {FinancingProjection.name}, the service's)")
    parser.add_argument("--metrics-port", type=int, default=0,
                        help="serve Prometheus metrics on 127.0.0.1:PORT (default: none)")
    args = parser.parse_args(argv)
    configure_logging(get_settings().log_level)
    asyncio.run(main(args.group, args.metrics_port))


if __name__ == "__main__":
    cli()
