"""Outbox relay: publishes a service's event store to Kafka in commit order.

The relay reads the store with the gap-free rule, sends a batch with an idempotent producer
(acks=all, in order per key), and records its checkpoint only once the broker acknowledged the
whole batch. A crash between the two publishes the batch again (consumers dedupe by id);
nothing is lost and nothing of one key is reordered. One relay runs per store: a PostgreSQL
advisory lock elects it.
"""
from __future__ import annotations

import asyncio
import os

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.election import elected, wait
from shared.envelope import CONTENT_TYPE, Publishable, as_stored, encode, to_cloudevent
from shared.eventstore.model import Cursor
from shared.eventstore.store import EventStore
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = structlog.get_logger("relay")
CRASH_ENV = "PARCOURS_RELAY_CRASH_AFTER_PUBLISH"  # fault injection for the kill test


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                            linger_ms=2, max_batch_size=256 * 1024, request_timeout_ms=30000)


class OutboxRelay:
    def __init__(self, engine: AsyncEngine, store: EventStore, producer: AIOKafkaProducer,
                 topic: str, source: str, *, batch_size: int = 1000, idle_seconds: float = 0.05,
                 publishable: Publishable = as_stored):
        self.engine, self.store, self.producer = engine, store, producer
        self.publishable = publishable
        self.topic, self.source = topic, source
        self.batch_size, self.idle_seconds = batch_size, idle_seconds
        self.name = f"relay:{topic}"
        self._cp = store.tables.checkpoints
        self._save_sql = (f"INSERT INTO {self._cp.schema}.{self._cp.name} (name, transaction_id, global_position) "
                          "VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET transaction_id = "
                          "excluded.transaction_id, global_position = excluded.global_position, updated_at = now()")
        self._wake = asyncio.Event()
        self._cursor: Cursor | None = None  # kept in memory while this relay holds the election lock

    def wake(self) -> None:
        """Publish now rather than at the next idle poll: called by the service after it commits
        events (appends from other processes are found by the poll)."""
        self._wake.set()

    async def checkpoint(self) -> Cursor:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(self._cp.c.transaction_id, self._cp.c.global_position)
                                      .where(self._cp.c.name == self.name))).first()
        return Cursor(int(row[0]), row[1]) if row else Cursor()

    async def run_once(self) -> int:
        """Publish the next batch; returns how many events were published.

        One pooled connection, its two statements (the read, the checkpoint) each a transaction
        of its own on the driver (autocommit: no BEGIN, COMMIT or SQLAlchemy statement per
        batch). The read is gap-free in one statement: its horizon is that statement's snapshot
        (horizon.py)."""
        cursor = self._cursor or await self.checkpoint()
        async with self.engine.connect() as conn:
            apg = (await conn.get_raw_connection()).driver_connection
            events = await self.store.feed.fetch(apg, cursor, self.batch_size)
            if not events:
                return 0
            headers = [("content-type", CONTENT_TYPE.encode())]
            futures = []
            for ev in events:
                ce = to_cloudevent(ev, self.source, publishable=self.publishable)
                futures.append(await self.producer.send(
                    self.topic, encode(ce), key=ce["partitionkey"].encode(), headers=headers))
            await asyncio.gather(*futures)
            EVENTS_PUBLISHED.labels(self.topic).inc(len(events))
            if os.environ.get(CRASH_ENV):
                log.warning("relay.crash_injected", after_events=len(events))
                os._exit(137)
            last = events[-1].cursor
            # recorded only once the broker acknowledged the whole batch
            await apg.execute(self._save_sql, self.name, str(last.transaction_id), last.global_position)
        if self._cursor is not None:
            self._cursor = last
        return len(events)

    async def backlog(self) -> int:
        cursor = await self.checkpoint()
        e = self.store.tables.events
        async with self.engine.connect() as conn:
            n = await conn.scalar(select(func.count()).select_from(e).where(
                e.c.global_position > cursor.global_position))
        OUTBOX_BACKLOG.labels(self.topic).set(n or 0)
        return n or 0

    async def run_until_idle(self, settle_seconds: float = 120.0) -> int:
        """Publish until nothing committed is left. Events whose transactions are still settling
        (the gap-free read waits for every older transaction of the cluster, however long one of
        them runs) are waited for, polling every ``idle_seconds``, at most ``settle_seconds``
        after the last batch published: an idle relay is one that left nothing behind."""
        total, loop = 0, asyncio.get_running_loop()
        deadline = loop.time() + settle_seconds
        while True:
            n = await self.run_once()
            total += n
            if n:
                deadline = loop.time() + settle_seconds
                continue
            async with self.engine.connect() as conn:
                pending = await self.store.committed_after(conn, self._cursor or await self.checkpoint())
            if not pending:
                return total
            if loop.time() > deadline:
                log.warning("relay.unsettled_events_left", topic=self.topic, waited_seconds=settle_seconds)
                return total
            await asyncio.sleep(self.idle_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay forever (until ``stop``), as the elected relay of this store."""
        async with elected(self.engine, f"parcours:{self.name}:{self.store.tables.schema}", stop) as got:
            if not got:
                return
            log.info("relay.elected", topic=self.topic)
            while not stop.is_set():
                self._wake.clear()
                try:
                    if self._cursor is None:  # nobody else writes it while we hold the lock
                        self._cursor = await self.checkpoint()
                    n = await self.run_once()
                except Exception:  # the broker or the database is away: retry, never skip
                    log.exception("relay.batch_failed")
                    self._cursor, n = None, 0
                    await wait(stop, 1.0)
                if n < self.batch_size:   # the store was read to its settled end: until a wake or the next poll
                    await wait(stop, self.idle_seconds, self._wake)
