"""Simulation: the funding computation on events given by the caller, nothing stored."""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Iterator

from kernel.collection import collection_paused
from kernel.reference.tables import seed_values
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.engine import compute
from services.financing.domain.inputs import SimulationIn, parse_simulation_json
from services.financing.domain.npec import Referential


def simulate(request: SimulationIn, today: date, stored: Referential | None = None) -> dict:
    return _simulate(request, request.events, today, stored)


def _simulate(request: SimulationIn, events: Iterable[dict[str, Any]], today: date,
              stored: Referential | None) -> dict:
    if request.referential is not None:
        referential = request.referential.to_domain(seed_values())
    else:
        referential = stored or Referential(seed_values=dict(seed_values()))
    with collection_paused():   # one large computation, no cycle (kernel.collection)
        return compute(events, referential, request.as_of or today).as_dict()


def _handed_over(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The events in order, each dropped from ``events`` as it is read: read once by the
    computation (it keeps what it needs of them), they are freed one by one while it runs and
    their memory serves its own objects (the request's 10k signatures were most of the
    simulation's memory, the computation's objects as many pages again)."""
    events.reverse()
    pop = events.pop
    while events:
        yield pop()


def simulate_json(raw: str | bytes, today: date, stored: Referential | None = None) -> dict:
    """``simulate(parse_simulation_json(raw), today)`` (the CLI's and the bench's path) in one pause
    of the collector: the request's objects are freed before it resumes, so it never walks them.
    Paused twice instead, the collector resumed in between with every object of the request in its
    youngest generation and walked them all (the bench's 10k paths: about 0.25 s of CPU in 2).
    The request is this function's own: its events are handed over to the computation
    (``_handed_over``). Raises what parse_simulation_json raises."""
    with collection_paused():
        request = parse_simulation_json(raw)
        return _simulate(request, _handed_over(request.events), today, stored)


async def quote(uow: FinancingUnitOfWork, request: SimulationIn, today: date) -> dict:
    """A simulation with the stored referential unless the request brings its own."""
    stored = None
    if request.referential is None:
        async with uow:
            stored = await uow.referential.load()
    return simulate(request, today, stored)
