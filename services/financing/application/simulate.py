"""Simulation: the funding computation on events given by the caller, nothing stored."""
from __future__ import annotations

from datetime import date

from services.financing.domain.engine import compute
from services.financing.domain.inputs import SimulationIn
from services.financing.domain.npec import Referential
from kernel.reference.tables import seed_values


def simulate(request: SimulationIn, today: date, stored: Referential | None = None) -> dict:
    if request.referential is not None:
        referential = request.referential.to_domain(seed_values())
    else:
        referential = stored or Referential(seed_values=dict(seed_values()))
    events = [e.model_dump() for e in request.events]
    return compute(events, referential, request.as_of or today).as_dict()
