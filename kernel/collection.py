"""Cyclic garbage collection paused over one large, pure computation.

Reading a simulation of 10,000 paths builds some millions of containers (the request's JSON and
its models) and computing it as many again. CPython's collector counts allocations, not garbage:
over such a heap it runs full collections that each walk every live container and free nothing,
because the request, the facts and the lines hold no reference cycles (they go with their last
reference). Measured on the bench's 10,000 paths, those walks were about a third of the time
(bench/profile_engine.py). Paused, the allocations are counted all the same and the collector
resumes with its next allocation after the computation: nothing is left uncollected.

A long run of batches (a rebuild) pauses it throughout and collects the youngest generation
between batches only once they have left enough containers behind (``collect_young``)."""
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


# containers a run of batches may leave uncollected (allocated less freed, as CPython's collector
# counts them) before the youngest generation is collected; CPython's own threshold is 700
YOUNG_GARBAGE = 50_000


def collect_young(threshold: int = YOUNG_GARBAGE) -> None:
    """Between two batches, with the collector paused (``collection_paused``): the youngest
    generation collected once the batches have left ``threshold`` containers more than they
    freed. A collection walks every young container alive, the next batch read ahead included
    (5,000 events' dicts: ~25 ms), and the rebuild's batches leave no cycles: collected after
    each batch, it found nothing and was a tenth of the storing phase's CPU."""
    if gc.get_count()[0] >= threshold:
        gc.collect(0)
