"""Command bodies that are not an event's data as is."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from contract_events.signed import Strict
from shared.types import IsoDate


class Decision(Strict):
    """The OPCO's decision: accept (with the annual level), refuse (with a motive), or notify
    that instruction continues."""
    outcome: Literal["accepted", "refused", "instruction_extended"]
    decided_on: IsoDate | None = None
    notified_on: IsoDate | None = None
    annual_funding_level: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    disability_uplift_annual: Decimal | None = Field(default=None, ge=0, le=4000, decimal_places=2)
    motive: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _dated(self):
        if self.effective_date is None:
            raise ValueError("decided_on (or notified_on for instruction_extended) is required")
        return self

    @property
    def effective_date(self) -> date | None:
        return self.notified_on or self.decided_on if self.outcome == "instruction_extended" else self.decided_on
