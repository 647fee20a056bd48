"""What a simulation accepts: contract events in the catalogue's shape and optional NPEC rows.
Each event type's data is checked for the fields the rules read (other fields are kept)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contract_events.readers import reader_model
from kernel.collection import collection_paused
from contract_events.upcasting import read_data
from services.financing.domain.npec import NpecRow, Referential
from shared.types import IsoDate, Line


# What the funding rules read of each event; the rest of the published payload is optional and
# unknown fields are kept (contract_events.readers).
_REQUIRED: dict[str, frozenset[str]] = {
    "contract.signed": frozenset({"apprentice", "contract", "training"}),
    "contract.funding_accepted": frozenset({"annual_funding_level"}),
    "contract.ruptured": frozenset({"ruptured_on"}),
    "contract.post_rupture_training_ended": frozenset({"ended_on"}),
    "contract.completed": frozenset({"ended_on"}),
    "contract.rehired": frozenset({"signed_on"}),
    "contract.deposited": frozenset(), "contract.amended": frozenset(),
}


class SimEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^contract\.[a-z_]+$")
    subject: Line | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    id: Line | None = None
    time: Line | None = None
    dataschema: Line | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _check(self):
        if not self.subject and not self.data.get("contract_id"):
            raise ValueError("an event names its contract: subject or data.contract_id")
        if self.type in _REQUIRED:
            reader_model(self.type, _REQUIRED[self.type]).model_validate(read_data(self.as_event()))
        return self

    def as_event(self) -> dict[str, Any]:
        """The event as the computation reads it (``model_dump()``'s keys), its data passed
        through rather than copied: nothing downstream writes to it."""
        return {"type": self.type, "subject": self.subject, "data": self.data, "id": self.id,
                "time": self.time, "dataschema": self.dataschema}


class NpecIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rncp: Line
    cpne: Line
    npec: Decimal = Field(ge=0)
    applicable_from: IsoDate
    file_date: IsoDate | None = None


class CpneIdccIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpne: Line
    idcc: Line


class ReferentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    npec: list[NpecIn] = Field(default_factory=list, max_length=100_000)
    cpne_idcc: list[CpneIdccIn] = Field(default_factory=list, max_length=100_000)
    replaces: dict[Line, Line] = Field(default_factory=dict)

    def to_domain(self, seed_values: dict[int, Decimal]) -> Referential:
        by_idcc: dict[str, set[str]] = {}
        for link in self.cpne_idcc:
            key = str(int(link.idcc)) if link.idcc.strip().isdigit() else link.idcc.strip()
            by_idcc.setdefault(key, set()).add(link.cpne)
        rows = [NpecRow(r.rncp, r.cpne, r.npec, r.applicable_from, r.file_date or date.min) for r in self.npec]
        return Referential(rows, by_idcc, dict(self.replaces), dict(seed_values))


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[SimEvent] = Field(min_length=1, max_length=200_000)
    referential: ReferentialIn | None = None
    as_of: IsoDate | None = None


def parse_simulation(payload: Any) -> SimulationIn:
    """Raises pydantic's ValidationError with every problem. Tens of thousands of events build
    millions of objects and no cycle: without the collector walking them (kernel.collection)."""
    with collection_paused():
        return SimulationIn.model_validate(payload)


def parse_simulation_json(raw: str | bytes) -> SimulationIn:
    """``parse_simulation(json.loads(raw))`` with the JSON decoded inside the same pause of the
    collector (the decoded request is most of the objects), by orjson. Raises
    json.JSONDecodeError (orjson's is one) or pydantic's ValidationError."""
    with collection_paused():
        return parse_simulation(orjson.loads(raw))


__all__ = ["SimulationIn", "parse_simulation", "parse_simulation_json", "ValidationError"]
