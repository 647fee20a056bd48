"""What a CFA records for Qualiopi indicators 30 to 32 (quality.md). Each command is an event of
the quality store; unknown fields are refused."""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.types import IsoDate

Text = Field(min_length=1, max_length=5000)
Name = Field(min_length=1, max_length=200)
Stakeholder = Literal["apprentice", "financer", "teaching_team", "company", "other"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Appraisal(Strict):
    """Appréciation (indicateur 30): a score on a declared scale, or a financer's webinar/meeting."""
    stakeholder: Stakeholder
    financer: str | None = Field(default=None, max_length=40, description="OPCO code when stakeholder=financer")
    kind: Literal["survey", "webinar", "meeting"] = "survey"
    score: Decimal | None = Field(default=None, ge=0, le=100)
    scale_max: Decimal | None = Field(default=None, gt=0, le=100)
    campaign: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=5000)
    recorded_on: IsoDate

    @model_validator(mode="after")
    def _consistent(self):
        if self.stakeholder == "financer" and not self.financer:
            raise ValueError("a financer's appraisal names the financer")
        if self.kind == "survey" and (self.score is None or self.scale_max is None):
            raise ValueError("a survey appraisal has a score and its scale")
        if self.score is not None and self.scale_max is not None and self.score > self.scale_max:
            raise ValueError("the score is above its scale")
        return self


class Complaint(Strict):
    """Réclamation (indicateur 31)."""
    received_on: IsoDate
    from_: Stakeholder = Field(alias="from")
    channel: Literal["email", "phone", "letter", "in_person", "web", "other"]
    subject: str = Name
    description: str = Text
    apprentice_id: str | None = Field(default=None, max_length=64)


class ComplaintStep(Strict):
    step: Literal["acknowledged", "answered", "closed"]
    on: IsoDate
    by: str = Name
    note: str | None = Field(default=None, max_length=5000)


class Hazard(Strict):
    """Aléa or difficulty met during the training, and the remedy applied."""
    occurred_on: IsoDate
    kind: Literal["hazard", "difficulty"]
    description: str = Text
    remedy: str | None = Field(default=None, max_length=5000)
    recorded_by: str = Name


class Incident(Strict):
    """Violence or harassment against an apprentice: opens a mandatory report (signalement)."""
    occurred_on: IsoDate
    kind: Literal["violence", "harassment"]
    apprentice_id: str = Field(min_length=1, max_length=64)
    description: str = Text
    reported_by: str = Name


class IncidentReport(Strict):
    reported_on: IsoDate
    to: str = Field(min_length=1, max_length=200, description="the authority signalled")
    reference: str | None = Field(default=None, max_length=200)


class Measure(Strict):
    """Mesure d'amélioration (indicateur 32)."""
    origin: Literal["complaint", "appraisal", "hazard", "incident", "rupture_analysis", "absenteeism_analysis",
                    "control_finding"]
    origin_ref: str | None = Field(default=None, max_length=100)
    title: str = Name
    owner: str = Name
    due_on: IsoDate
    opened_on: IsoDate


class MeasureUpdate(Strict):
    status: Literal["open", "in_progress", "done", "abandoned"]
    on: IsoDate
    note: str | None = Field(default=None, max_length=5000)
    effectiveness_review: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _reviewed(self):
        if self.status == "done" and not self.effectiveness_review:
            raise ValueError("closing a measure records its effectiveness review")
        return self


class Absence(Strict):
    erp_record_id: str = Field(min_length=1, max_length=100)
    apprentice_id: str = Field(min_length=1, max_length=64)
    group: str | None = Field(default=None, max_length=100)
    day: IsoDate
    hours: Decimal = Field(gt=0, le=24)
    justified: bool


class AbsenceBatch(Strict):
    absences: list[Absence] = Field(min_length=1, max_length=10_000)


class Council(Strict):
    """Conseil de perfectionnement (R6231-4)."""
    planned_on: IsoDate
    period_from: IsoDate
    period_to: IsoDate
    title: str | None = Field(default=None, max_length=200)


class CouncilMinutes(Strict):
    held_on: IsoDate
    attendees: list[str] = Field(min_length=1, max_length=100)
    decisions: list[str] = Field(default_factory=list, max_length=100)
    minutes: str = Text
