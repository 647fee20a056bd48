"""What a simulation accepts: contract events in the catalogue's shape and optional NPEC rows.
Each event type's data is checked for the fields the rules read (other fields are kept)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.financing.domain.npec import NpecRow, Referential
from shared.types import IsoDate, Line


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Apprentice(Loose):
    id: Line = Field(min_length=1, max_length=64)


class _Signed(Loose):
    contract_id: Line | None = None
    apprentice: _Apprentice
    opco: Line | None = None
    signed_on: IsoDate
    start_date: IsoDate
    planned_end_date: IsoDate
    training_started_on: IsoDate | None = None
    previous_contract_id: Line | None = None


class _Accepted(Loose):
    annual_funding_level: Decimal = Field(ge=0, le=1_000_000)
    disability_uplift_annual: Decimal | None = Field(default=None, ge=0, le=4000)


class _Ruptured(Loose):
    ruptured_on: IsoDate
    continues_training: bool = False


class _Dated(Loose):
    ended_on: IsoDate


class _Rehired(Loose):
    signed_on: IsoDate


class _Deposited(Loose):
    deposited_on: IsoDate | None = None


class _Amended(Loose):
    changes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates(self):
        for key in ("planned_end_date", "start_date"):
            if key in self.changes:
                date.fromisoformat(str(self.changes[key]))
        return self


DATA_MODELS: dict[str, type[BaseModel]] = {
    "contract.signed": _Signed, "contract.funding_accepted": _Accepted, "contract.ruptured": _Ruptured,
    "contract.post_rupture_training_ended": _Dated, "contract.completed": _Dated,
    "contract.rehired": _Rehired, "contract.deposited": _Deposited, "contract.amended": _Amended,
}


class SimEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^contract\.[a-z_]+$")
    subject: Line | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    id: Line | None = None
    time: Line | None = None

    @model_validator(mode="after")
    def _check(self):
        if not self.subject and not self.data.get("contract_id"):
            raise ValueError("an event names its contract: subject or data.contract_id")
        model = DATA_MODELS.get(self.type)
        if model is not None:
            model.model_validate(self.data)
        return self


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
    """Raises pydantic's ValidationError with every problem."""
    return SimulationIn.model_validate(payload)


__all__ = ["SimulationIn", "parse_simulation", "ValidationError"]
