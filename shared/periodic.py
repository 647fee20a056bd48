"""A background worker's rhythm: do something, then wait an interval or until the app stops."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


async def every(interval: float, stop: asyncio.Event, tick: Callable[[], Awaitable[None]]) -> None:
    """Run ``tick`` now and every ``interval`` seconds until ``stop`` is set (woken at once by it)."""
    while not stop.is_set():
        await tick()
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
