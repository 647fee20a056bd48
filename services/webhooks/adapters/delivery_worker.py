"""The delivery worker (docs/webhooks.md): elected once per database (a PostgreSQL advisory lock),
it picks the due deliveries (the head of each endpoint x key queue, each endpoint capped to its
share), attempts each in a task of its own, and records the outcome. One key's next delivery
waits for the one before it (order per contract); a slow or dead endpoint holds only its own
share of attempts, never another's. A kill -9 loses only the attempts in flight: their
deliveries are still pending and are sent again (receivers dedupe by ``webhook-id``)."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Callable, Collection

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.webhooks.adapters.sql_unit_of_work import SqlUnitOfWork
from services.webhooks.application.sending import Resolve, Transport, send, settle
from services.webhooks.application.unit_of_work import DueDelivery
from shared.election import elected, wait
from shared.observability import WEBHOOK_ATTEMPT_SECONDS, WEBHOOK_ATTEMPTS, WEBHOOK_OLDEST_PENDING

log = structlog.get_logger("webhooks")
GAUGE_EVERY = 5.0   # seconds between two refreshes of the oldest-pending gauge


class DeliveryWorker:
    def __init__(self, engine: AsyncEngine, transport: Callable[[], Transport], resolve: Resolve, clock,
                 allowed_hosts: Collection[str],
                 *, per_endpoint: int = 4, batch: int = 500, poll_seconds: float = 0.25,
                 draw: Callable[[], float] = random.random):
        self.engine, self.make_transport, self.resolve, self.clock = engine, transport, resolve, clock
        self.transport: Transport | None = None
        self.allowed_hosts, self.per_endpoint, self.batch, self.poll_seconds = allowed_hosts, per_endpoint, batch, poll_seconds
        self.draw = draw
        self.in_flight: set[tuple[str, str]] = set()
        # attempts settled while a due query ran: its rows about them may be stale (pending still)
        self.settled_meanwhile: set[int] = set()
        self.tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._gauge_at = 0.0

    def wake(self) -> None:
        """Look for due deliveries now (new ones were recorded, or a key's previous one ended)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with elected(self.engine, "parcours:webhooks:delivery", stop) as got:
            if not got:
                return
            log.info("webhooks.delivery_worker_elected")
            self.transport = self.make_transport()
            try:
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        self.settled_meanwhile.clear()
                        due = await self.due()
                        self.start_due([d for d in due if d.delivery_id not in self.settled_meanwhile])
                        await self._refresh_gauge()
                    except Exception:  # the database is away: try again, never skip
                        log.exception("webhooks.poll_failed")
                        await wait(stop, 1.0)
                    await wait(stop, self.poll_seconds, self._wake)
            finally:
                if self.tasks:
                    await asyncio.wait(self.tasks, timeout=15)
                await self.transport.close()

    async def due(self) -> list[DueDelivery]:
        async with SqlUnitOfWork(self.engine) as uow:
            return await uow.deliveries.due(self.clock.now(), self.per_endpoint, self.batch)

    def start_due(self, due: list[DueDelivery]) -> None:
        busy = Counter(endpoint for endpoint, _ in self.in_flight)
        for d in due:
            key = (d.endpoint_id, d.ordering_key)
            if key in self.in_flight or busy[d.endpoint_id] >= self.per_endpoint:
                continue
            busy[d.endpoint_id] += 1
            self.in_flight.add(key)
            task = asyncio.create_task(self._attempt(d, key))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _attempt(self, d: DueDelivery, key: tuple[str, str]) -> None:
        try:
            response = await send(self.transport, self.resolve, self.allowed_hosts, d, int(time.time()))
            await settle(SqlUnitOfWork(self.engine), d, response, self.clock.now(), self.draw())
            WEBHOOK_ATTEMPTS.labels(response.outcome).inc()
            if response.latency_ms is not None:
                WEBHOOK_ATTEMPT_SECONDS.labels(response.outcome).observe(response.latency_ms / 1000)
        except Exception:  # recorded nothing: the delivery stays due and is tried again
            log.exception("webhooks.attempt_failed", delivery_id=d.delivery_id)
        finally:
            self.settled_meanwhile.add(d.delivery_id)
            self.in_flight.discard(key)
            self.wake()

    async def _refresh_gauge(self) -> None:
        if time.monotonic() - self._gauge_at < GAUGE_EVERY:
            return
        self._gauge_at = time.monotonic()
        async with SqlUnitOfWork(self.engine) as uow:
            ages = await uow.deliveries.oldest_pending(self.clock.now())
        WEBHOOK_OLDEST_PENDING.clear()
        for endpoint, age in ages.items():
            WEBHOOK_OLDEST_PENDING.labels(endpoint).set(age)
