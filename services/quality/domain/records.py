"""What a CFA records for Qualiopi indicators 30 to 32 (docs/quality.md). Each command is an event of
the quality store; unknown fields are refused."""
from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.types import IsoDate, Line, Prose

Text = Field(min_length=1, max_length=5000)
Name = Field(min_length=1, max_length=200)
Stakeholder = Literal["apprentice", "financer", "teaching_team", "company", "other"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The dates that record what already happened (no later than the day they are recorded); the
    # others (a measure's deadline, a council's planned day and period) may lie ahead.
    happened: ClassVar[tuple[str, ...]] = ()


class Appraisal(Strict):
    """Appréciation (indicateur 30): a score on a declared scale, or a financer's webinar/meeting."""
    stakeholder: Stakeholder
    financer: Line | None = Field(default=None, max_length=40, description="OPCO code when stakeholder=financer")
    kind: Literal["survey", "webinar", "meeting"] = "survey"
    score: Decimal | None = Field(default=None, ge=0, le=100)
    scale_max: Decimal | None = Field(default=None, gt=0, le=100)
    campaign: Line | None = Field(default=None, max_length=200)
    comment: Prose | None = Field(default=None, max_length=5000)
    recorded_on: IsoDate
    happened: ClassVar[tuple[str, ...]] = ("recorded_on",)

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
    subject: Line = Name
    description: Prose = Text
    apprentice_id: Line | None = Field(default=None, max_length=64)
    happened: ClassVar[tuple[str, ...]] = ("received_on",)


class ComplaintStep(Strict):
    step: Literal["acknowledged", "answered", "closed"]
    on: IsoDate
    by: Line = Name
    note: Prose | None = Field(default=None, max_length=5000)
    happened: ClassVar[tuple[str, ...]] = ("on",)


class Hazard(Strict):
    """Aléa or difficulty met during the training, and the remedy applied."""
    occurred_on: IsoDate
    kind: Literal["hazard", "difficulty"]
    description: Prose = Text
    remedy: Prose | None = Field(default=None, max_length=5000)
    recorded_by: Line = Name
    happened: ClassVar[tuple[str, ...]] = ("occurred_on",)


class Incident(Strict):
    """Violence or harassment against an apprentice: opens a mandatory report (signalement)."""
    occurred_on: IsoDate
    kind: Literal["violence", "harassment"]
    apprentice_id: Line = Field(min_length=1, max_length=64)
    description: Prose = Text
    reported_by: Line = Name
    happened: ClassVar[tuple[str, ...]] = ("occurred_on",)


class IncidentReport(Strict):
    reported_on: IsoDate
    to: Line = Field(min_length=1, max_length=200, description="the authority signalled")
    reference: Line | None = Field(default=None, max_length=200)
    happened: ClassVar[tuple[str, ...]] = ("reported_on",)


class Measure(Strict):
    """Mesure d'amélioration (indicateur 32)."""
    origin: Literal["complaint", "appraisal", "hazard", "incident", "rupture_analysis", "absenteeism_analysis",
                    "control_finding"]
    origin_ref: Line | None = Field(default=None, max_length=100)
    title: Line = Name
    owner: Line = Name
    due_on: IsoDate
    opened_on: IsoDate
    happened: ClassVar[tuple[str, ...]] = ("opened_on",)  # due_on is a deadline: it may lie ahead


class MeasureUpdate(Strict):
    status: Literal["open", "in_progress", "done", "abandoned"]
    on: IsoDate
    note: Prose | None = Field(default=None, max_length=5000)
    effectiveness_review: Prose | None = Field(default=None, max_length=5000)
    happened: ClassVar[tuple[str, ...]] = ("on",)

    @model_validator(mode="after")
    def _reviewed(self):
        if self.status == "done" and not self.effectiveness_review:
            raise ValueError("closing a measure records its effectiveness review")
        return self


class Absence(Strict):
    erp_record_id: Line = Field(min_length=1, max_length=100)
    apprentice_id: Line = Field(min_length=1, max_length=64)
    group: Line | None = Field(default=None, max_length=100)
    day: IsoDate
    hours: Decimal = Field(gt=0, le=24)
    justified: bool
    happened: ClassVar[tuple[str, ...]] = ("day",)


class AbsenceBatch(Strict):
    absences: list[Absence] = Field(min_length=1, max_length=10_000)


class Council(Strict):
    """Conseil de perfectionnement (R6231-4)."""
    planned_on: IsoDate
    period_from: IsoDate
    period_to: IsoDate
    title: Line | None = Field(default=None, max_length=200)
    # planned_on and the period may lie ahead: nothing in a plan has happened yet


class CouncilMinutes(Strict):
    held_on: IsoDate
    attendees: list[Line] = Field(min_length=1, max_length=100)
    decisions: list[Prose] = Field(default_factory=list, max_length=100)
    minutes: Prose = Text
    happened: ClassVar[tuple[str, ...]] = ("held_on",)
