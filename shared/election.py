"""One process of several does a job (the relay of a store, the webhooks' delivery worker): it
holds a PostgreSQL session advisory lock for as long as it works. A process killed -9 loses its
connection, so its lock: the next one is elected within a second."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine


async def wait(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Until ``stop`` or ``wake`` is set, or ``seconds`` have passed."""
    waiters = [asyncio.ensure_future(stop.wait())] + ([asyncio.ensure_future(wake.wait())] if wake else [])
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


@asynccontextmanager
async def elected(engine: AsyncEngine, key: str, stop: asyncio.Event, retry_seconds: float = 1.0) -> AsyncIterator[bool]:
    """Enters once this process holds the lock named ``key`` (yields True) or ``stop`` was set
    first (yields False); the lock is held until the block ends."""
    async with engine.connect() as lock_conn:
        got = False
        while not stop.is_set():
            got = await lock_conn.scalar(select(func.pg_try_advisory_lock(func.hashtext(key))))
            await lock_conn.commit()
            if got:
                break
            await wait(stop, retry_seconds)
        try:
            yield got
        finally:
            if got:
                await lock_conn.execute(text("SELECT pg_advisory_unlock_all()"))
