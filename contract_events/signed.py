"""The data of ``contract.signed`` (contrat d'apprentissage conclu): what the contracts API
takes to sign, and what every reader of the topic receives (docs/events.md).

Unknown fields are refused. Dates are ISO dates; money is a decimal string.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from shared.types import IsoDate, Line, Prose

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Apprentice(Strict):
    """Apprenti (pseudonymous id)."""
    id: str = Id
    birth_date: IsoDate
    rqth: bool = False
    high_level_athlete: bool = False
    business_creation_project: bool = False
    lower_secondary_completed: bool = False


class Employer(Strict):
    """Employeur."""
    siret: Line = Field(min_length=1, max_length=20)
    idcc: Line = Field(min_length=1, max_length=8)
    name: Line | None = Field(default=None, max_length=200)
    public_sector: bool = False


class Cfa(Strict):
    uai: Line = Field(min_length=1, max_length=10)
    siret: Line | None = Field(default=None, max_length=20)


class Certification(Strict):
    """Diplôme ou titre visé."""
    rncp: Line = Field(min_length=1, max_length=20, description="Code RNCP")
    diploma_code: Line | None = Field(default=None, max_length=20, description="Code du diplôme")
    level: int | None = Field(default=None, ge=1, le=8, description="Niveau (cadre européen, 3 à 8)")
    title: Line | None = Field(default=None, max_length=300, description="Intitulé précis")


class Master(Strict):
    """Maître d'apprentissage (his or her name and birth date are personal: never published)."""
    birth_date: IsoDate | None = Field(default=None, json_schema_extra={"x-personal": True})
    name: Line | None = Field(default=None, max_length=200, json_schema_extra={"x-personal": True})


class DurationAdjustment(Strict):
    kind: Literal["reduction", "extension"]
    tripartite_convention: bool = False
    justification: Prose | None = Field(default=None, max_length=500)


class RemunerationYear(Strict):
    """Rémunération: % of the SMIC for a contract year, from ``starts_on`` when the rate changes
    within the year (e.g. the month after the apprentice's 18th birthday)."""
    year: int = Field(ge=1, le=5)
    pct_smic: Decimal = Field(ge=0, le=200)
    starts_on: IsoDate | None = None


class ContractTerms(Strict):
    """The body of ``POST /v1/contracts``: ``contract.signed`` data without ``contract_id``."""
    apprentice: Apprentice
    employer: Employer
    opco: Line | None = Field(default=None, max_length=20)
    cfa: Cfa
    certification: Certification
    master: Master | None = None
    signed_on: IsoDate
    start_date: IsoDate
    planned_end_date: IsoDate
    training_hours: int | None = Field(default=None, ge=0, le=10000)
    weekly_work_hours: Decimal | None = Field(default=None, ge=0, le=60)
    contract_type: Literal["11", "21", "22", "23"]
    previous_contract_id: Line | None = Field(default=None, max_length=64)
    training_started_on: IsoDate | None = None
    duration_adjustment: DurationAdjustment | None = None
    derogation_codes: list[Line] = Field(default_factory=list, max_length=20)
    remuneration: list[RemunerationYear] = Field(default_factory=list, max_length=4)
    remote_training_share_at_least_80_percent: bool = False
