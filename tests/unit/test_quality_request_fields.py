"""The quality service's request models, field by field: every string refuses control characters
(prose keeps tab and line breaks), every date is judged (what already happened may not pass
today; plans may lie ahead), and the application's check lists every date in the future."""
import typing
from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from kernel.errors import Refused
from services.quality.application.recording import not_in_future
from services.quality.domain import records as r

BODIES: dict[type[BaseModel], dict] = {
    r.Appraisal: {"stakeholder": "financer", "financer": "ATLAS", "kind": "survey", "score": "4", "scale_max": "5",
                  "campaign": "2025", "comment": "Bien.", "recorded_on": "2025-06-10"},
    r.Complaint: {"received_on": "2025-03-02", "from": "apprentice", "channel": "email", "subject": "Planning",
                  "description": "Changé.", "apprentice_id": "app-1"},
    r.ComplaintStep: {"step": "acknowledged", "on": "2025-03-03", "by": "QL", "note": "Vu."},
    r.Hazard: {"occurred_on": "2025-02-11", "kind": "hazard", "description": "Absent.", "remedy": "Remplacé.",
               "recorded_by": "QL"},
    r.Incident: {"occurred_on": "2025-04-03", "kind": "harassment", "apprentice_id": "app-1", "description": "Insultes.",
                 "reported_by": "Référente"},
    r.IncidentReport: {"reported_on": "2025-04-03", "to": "Procureur", "reference": "PV-1"},
    r.Measure: {"origin": "complaint", "origin_ref": "c-1", "title": "Publier", "owner": "Direction",
                "due_on": "2025-05-31", "opened_on": "2025-03-05"},
    r.MeasureUpdate: {"status": "done", "on": "2025-05-30", "note": "Fait.", "effectiveness_review": "Efficace."},
    r.Absence: {"erp_record_id": "erp-1", "apprentice_id": "app-1", "group": "G1", "day": "2025-01-13", "hours": "3.5",
                "justified": False},
    r.Council: {"planned_on": "2025-06-20", "period_from": "2024-09-01", "period_to": "2025-06-15", "title": "Conseil"},
    r.CouncilMinutes: {"held_on": "2025-06-20", "attendees": ["Direction"], "decisions": ["Ouvrir un créneau"],
                       "minutes": "Revu."},
}
# The fields people write paragraphs in; every other string is a single line.
PROSE = {(r.Appraisal, "comment"), (r.Complaint, "description"), (r.ComplaintStep, "note"), (r.Hazard, "description"),
         (r.Hazard, "remedy"), (r.Incident, "description"), (r.MeasureUpdate, "note"),
         (r.MeasureUpdate, "effectiveness_review"), (r.CouncilMinutes, "decisions"), (r.CouncilMinutes, "minutes")}
# The dates that are plans; every other date records what already happened.
PLANS = {(r.Measure, "due_on"), (r.Council, "planned_on"), (r.Council, "period_from"), (r.Council, "period_to")}


def _mentions(annotation, kind) -> bool:
    return annotation is kind or any(_mentions(a, kind) for a in typing.get_args(annotation)
                                     if typing.get_origin(annotation) is not typing.Literal)


def string_fields():
    for model in BODIES:
        for name, info in model.model_fields.items():
            if _mentions(info.annotation, str):
                yield pytest.param(model, info.alias or name, id=f"{model.__name__}.{name}")


def date_fields():
    for model in BODIES:
        for name, info in model.model_fields.items():
            if _mentions(info.annotation, date):
                yield pytest.param(model, name, id=f"{model.__name__}.{name}")


def models() -> set[type[BaseModel]]:
    return {m for m in vars(r).values() if isinstance(m, type) and issubclass(m, r.Strict) and m is not r.Strict}


def test_every_request_model_is_covered():
    assert models() - {r.AbsenceBatch} == set(BODIES)
    for model, body in BODIES.items():
        model.model_validate(body)


def _with(body: dict, field: str, text: str) -> dict:
    return {**body, field: [text] if isinstance(body[field], list) else text}


def _codes(model, body) -> list[tuple[str, str]]:
    try:
        model.model_validate(body)
    except ValidationError as e:
        return [(".".join(str(p) for p in err["loc"] if not isinstance(p, int)), err["type"]) for err in e.errors()]
    return []


@pytest.mark.parametrize("model,field", list(string_fields()))
def test_every_string_refuses_control_characters_and_only_prose_keeps_line_breaks(model, field):
    body = BODIES[model]
    assert field in body, "give the field a value in BODIES"
    for bad in ("a\u0000b", "a\u001bb", "a\u007fb", "a\u0085b"):
        assert _codes(model, _with(body, field, bad)) == [(field, "control_character")], bad
    for breaks in ("a\nb", "a\r\nb\tc"):
        expected = [] if (model, field) in PROSE else [(field, "control_character")]
        assert _codes(model, _with(body, field, breaks)) == expected, breaks


@pytest.mark.parametrize("model,field", list(date_fields()))
def test_every_date_is_judged(model, field):
    """What already happened is dated today at the latest (date_in_future); a plan may lie ahead.
    A new date field must be put on one side or the other."""
    today = date(2025, 7, 1)
    plan = (model, field) in PLANS
    assert (field in model.happened) is not plan
    record = model.model_validate({**BODIES[model], field: "2025-07-02"})
    if plan:
        not_in_future(record, today)
    else:
        with pytest.raises(Refused) as refused:
            not_in_future(record, today)
        assert refused.value.code == "validation-error"
        assert [(e["field"], e["code"]) for e in refused.value.errors] == [(field, "date_in_future")]
    not_in_future(model.model_validate({**BODIES[model], field: today.isoformat()}), today)


def test_a_batch_names_each_absence_dated_after_today():
    day = lambda d: {**BODIES[r.Absence], "day": d}  # noqa: E731
    batch = r.AbsenceBatch.model_validate({"absences": [day("2025-06-30"), day("2025-07-02"), day("2199-01-01")]})
    with pytest.raises(Refused) as refused:
        not_in_future(batch, date(2025, 7, 1))
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("absences.1.day", "date_in_future"),
                                                                      ("absences.2.day", "date_in_future")]
