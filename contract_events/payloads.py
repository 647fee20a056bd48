"""The data of every other contract event (docs/events.md), as pydantic models. They validate
the contracts service's commands, readers derive their views from them (contract_events.readers),
and their JSON Schemas are published (``/v1/schemas/events/{type}/{version}``)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from contract_events.signed import ContractTerms, Strict
from shared.types import IsoDate, Line, Prose

Money = Field(ge=0, max_digits=12, decimal_places=2)
RUPTURE_REASONS = ("free_rupture_45_days", "mutual_agreement", "apprentice_resignation",
                   "employer_dismissal_serious_misconduct", "employer_dismissal_force_majeure",
                   "employer_dismissal_unfitness", "master_death_sole_trader", "liquidation",
                   "cfa_exclusion", "diploma_obtained", "administrative_decision")
RuptureReason = Literal[RUPTURE_REASONS]  # type: ignore[valid-type]


class Transmission(Strict):
    """Transmission du contrat à l'OPCO (privé) ou à la DDETS (public)."""
    transmitted_on: IsoDate
    by: Literal["employer", "cfa"]
    file_complete_on: IsoDate | None = None


class InstructionExtended(Strict):
    notified_on: IsoDate


class FundingAccepted(Strict):
    """Prise en charge acceptée (niveau annuel, majoration handicap éventuelle)."""
    decided_on: IsoDate
    annual_funding_level: Decimal = Money
    disability_uplift_annual: Decimal | None = Field(default=None, ge=0, le=4000, decimal_places=2)


class FundingRefused(Strict):
    decided_on: IsoDate
    motive: Prose = Field(min_length=1, max_length=1000)


class Deadline(Strict):
    deadline_on: IsoDate


class Deposit(Strict):
    """Dépôt auprès du ministère (DECA)."""
    deposited_on: IsoDate
    deposit_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9/_-]+$")


class Amendment(Strict):
    """Avenant sur un élément essentiel (CERFA 31 à 38)."""
    effective_on: IsoDate
    amendment_type: Literal["31", "32", "33", "34", "35", "36", "37", "38"]
    changes: dict[str, Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates_are_dates(self):
        for key in ("planned_end_date", "start_date"):
            if key in self.changes:
                date.fromisoformat(str(self.changes[key]))
        return self


class AmendmentV2(Strict):
    """Avenant (version 2): ``changes`` is a JSON Merge Patch (RFC 7386) over the CERFA
    (contract_events.cerfa): the sections and fields that change, ``null`` to clear one; lists
    (masters, pay lines) are replaced whole."""
    effective_on: IsoDate
    amendment_type: Literal["31", "32", "33", "34", "35", "36", "37", "38"]
    changes: dict[str, Any] = Field(min_length=1)


class Rupture(Strict):
    """Rupture anticipée (L6222-18 et suivants)."""
    ruptured_on: IsoDate
    notified_on: IsoDate | None = None
    reason: RuptureReason
    initiator: Literal["employer", "apprentice", "both", "cfa", "administration"] | None = None
    continues_training: bool = False


class Rehired(Strict):
    new_contract_id: Line
    signed_on: IsoDate
    opco: Line | None = None


class PostRuptureTrainingEnded(Strict):
    ended_on: IsoDate
    reason: Literal["left_cfa", "limit_reached"]


class Completion(Strict):
    ended_on: IsoDate
    diploma_obtained: bool | None = None


class Cancellation(Strict):
    cancelled_on: IsoDate
    motive: Prose = Field(min_length=1, max_length=1000)


class Signed(ContractTerms):
    contract_id: Line


def event_data(contract_id: str, body: BaseModel) -> dict[str, Any]:
    return {"contract_id": contract_id, **body.model_dump(mode="json", exclude_none=True)}
