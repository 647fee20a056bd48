"""Cyclic garbage collection paused over one large, pure computation.

Reading a simulation of 10,000 paths builds some millions of containers (the request's JSON and
its models) and computing it as many again. CPython's collector counts allocations, not garbage:
over such a heap it runs full collections that each walk every live container and free nothing,
because the request, the facts and the lines hold no reference cycles (they go with their last
reference). Measured on the bench's 10,000 paths, those walks were about a third of the time
(bench/profile_engine.py). Paused, the allocations are counted all the same and the collector
resumes with its next allocation after the computation: nothing is left uncollected."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cycle collection inside; resumed on the way out unless it was already off (nested uses,
    or a caller who turned it off, keep their state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
