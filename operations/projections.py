"""The projections ops can rebuild: their tables, their keys, and how to feed them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from shared.clock import SystemClock
from shared.messaging.topics import CONTRACT_EVENTS


@dataclass(frozen=True)
class ProjectionSpec:
    name: str
    schema: str                              # the live schema
    tables: dict[str, list[str]]             # derived table -> primary key columns
    volatile: dict[str, list[str]] = field(default_factory=dict)  # columns that differ by construction
    copied: list[str] = field(default_factory=list)               # reference tables the projection reads
    topic: str = CONTRACT_EVENTS
    feed_store: str = "contracts"            # the owning service's store
    consumer: str = ""                       # the live consumer group
    make: Callable[[], object] | None = None
    # the live projection's stored events as CloudEvents (what a swap catches up with): SQL columns
    # of its contract_events table, aliased id, type, subject, data, time, partitionkey
    late_columns: str = ("l.event_id AS id, l.type, l.contract_id AS subject, l.data, l.recorded_at AS time, "
                         "l.apprentice_id AS partitionkey, l.sequence")

    def projection(self):
        return self.make()


def _financing():
    from services.financing.adapters.financing_projection import FinancingProjection
    return FinancingProjection(SystemClock())


FINANCING = ProjectionSpec(
    name="financing", schema="financing",
    tables={"contracts": ["contract_id"], "contract_events": ["event_id"],
            "lines": ["contract_id", "funding_year"], "advances": ["contract_id", "funding_year", "advance"]},
    volatile={"contracts": ["updated_at"], "contract_events": ["arrival"]},
    copied=["npec_rows", "cpne_idcc"], consumer="financing.contracts", make=_financing)

def _quality():
    from services.quality.adapters.contract_projection import QualityProjection
    return QualityProjection()


QUALITY = ProjectionSpec(
    name="quality", schema="quality", tables={"contract_events": ["event_id"]},
    volatile={"contract_events": ["arrival"]}, consumer="quality.contracts", make=_quality,
    late_columns="l.event_id AS id, l.type, l.contract_id AS subject, l.data, l.recorded_at AS time, "
                 "NULL AS partitionkey, NULL AS sequence")

SPECS = {"financing": FINANCING, "quality": QUALITY}
