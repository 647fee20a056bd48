"""Records and their steps against in-memory ports: each kind created with its event, each step
allowed from its statuses and refused from the others (409 invalid-transition), before the
record (422 before_record) or after today (422 date_in_future); nothing kept on a refusal."""
from dataclasses import replace
from datetime import date

import pytest

from kernel.errors import Conflict, Forbidden, NotFound, Refused
from services.quality.application.recording import KINDS, STEPS, create_record, take_step
from services.quality.domain import records as r
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import BODIES, CFA, OPCO, OTHER_CFA, TODAY


@pytest.fixture
def uow():
    return FakeUnitOfWork()


@pytest.mark.parametrize("collection", list(KINDS))
async def test_each_kind_is_created_with_its_event_status_and_stream(uow, collection):
    kind, body = KINDS[collection], BODIES[collection]
    done = await create_record(uow, CFA, collection, body, TODAY)
    data = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert {k: done[k] for k in data} == data
    assert (done["record_type"], done["status"], done["version"], done["history"]) == (kind.name, kind.status, 1, [])
    assert done["occurred_on"] == data[kind.date_field]
    (event,) = uow.events.of(f"{kind.name}-{done['id']}")
    assert (event.type, event.version, event.metadata) == (kind.event, 1, {"partitionkey": CFA.org, "actor": "k-cfa"})
    assert event.data == {"id": done["id"], "cfa": CFA.org, **data}
    assert uow.tables.records[done["id"]].cfa == CFA.org and uow.commits == 1


async def test_the_body_keeps_the_stores_key_order(uow):
    """The answer is the record as stored (jsonb orders keys by length): the API's bytes."""
    done = await create_record(uow, CFA, "appraisals", BODIES["appraisals"], TODAY)
    assert list(done)[:7] == ["kind", "score", "campaign", "financer", "scale_max", "recorded_on", "stakeholder"]
    assert list(done)[7:] == ["id", "record_type", "status", "occurred_on", "version", "history"]


async def test_only_a_cfa_key_records(uow):
    with pytest.raises(Forbidden) as caught:
        await create_record(uow, OPCO, "complaints", BODIES["complaints"], TODAY)
    assert caught.value.code == "forbidden-role"
    assert caught.value.detail == "This action needs a cfa key; this key's role is opco."
    assert uow.tables.records == {} and uow.tables.events == []


@pytest.mark.parametrize("collection", [c for c in KINDS if c != "councils"])
async def test_a_record_of_what_happened_may_not_pass_today(uow, collection):
    kind = KINDS[collection]
    body = BODIES[collection].model_copy(update={kind.date_field: date(2025, 7, 2)})
    with pytest.raises(Refused) as caught:
        await create_record(uow, CFA, collection, body, TODAY)
    refused = caught.value
    assert (refused.code, refused.title, refused.detail) == ("validation-error", "The request is not valid",
                                                             "See errors.")
    assert refused.errors == [{"field": kind.date_field, "code": "date_in_future",
                               "message": "This records what already happened: no later than today (2025-07-01)."}]
    assert uow.tables.records == {} and uow.tables.events == [] and uow.commits == 0


async def test_a_plan_may_lie_ahead(uow):
    body = BODIES["councils"].model_copy(update={"planned_on": date(2099, 6, 20)})
    assert (await create_record(uow, CFA, "councils", body, TODAY))["status"] == "planned"


async def test_a_concurrent_append_is_a_conflict_and_nothing_is_kept(uow):
    uow.events.moved = True
    with pytest.raises(Conflict) as caught:
        await create_record(uow, CFA, "hazards", BODIES["hazards"], TODAY)
    assert (caught.value.code, caught.value.detail) == ("concurrent-update", "The record changed meanwhile; retry.")
    assert uow.tables.records == {} and uow.commits == 0


# (collection, step name, body, the step's date field): each step of STEPS
STEP_BODIES = {
    ("complaints", "acknowledged"): r.ComplaintStep(step="acknowledged", on="2025-03-03", by="QL"),
    ("complaints", "answered"): r.ComplaintStep(step="answered", on="2025-03-04", by="QL", note="Replied."),
    ("complaints", "closed"): r.ComplaintStep(step="closed", on="2025-03-05", by="QL"),
    ("incidents", "report"): r.IncidentReport(reported_on="2025-04-04", to="Procureur", reference="PV-1"),
    ("measures", "update"): r.MeasureUpdate(status="in_progress", on="2025-03-10", note="Started"),
    ("councils", "minutes"): r.CouncilMinutes(held_on="2025-06-20", attendees=["Director"], decisions=["A slot"],
                                              minutes="Reviewed."),
}
AFTER = {("complaints", "acknowledged"): "acknowledged", ("complaints", "answered"): "answered",
         ("complaints", "closed"): "closed", ("incidents", "report"): "signalled",
         ("measures", "update"): "in_progress", ("councils", "minutes"): "held"}
FIELD = {"complaints": "on", "incidents": "reported_on", "measures": "on", "councils": "held_on"}


async def created(uow, collection, status=None):
    done = await create_record(uow, CFA, collection, BODIES[collection], TODAY)
    if status:   # put the record in that status as a step would
        uow.tables.records[done["id"]] = replace(uow.tables.records[done["id"]], status=status)
    return done["id"]


@pytest.mark.parametrize("step", list(STEPS), ids=lambda s: "/".join(s))
async def test_each_step_is_taken_from_each_status_it_leaves(uow, step):
    collection, name = step
    allowed, event, _, _ = STEPS[step]
    for status in sorted(allowed):
        record_id = await created(uow, collection, status)
        done = await take_step(uow, CFA, collection, name, record_id, STEP_BODIES[step], TODAY)
        data = STEP_BODIES[step].model_dump(mode="json", exclude_none=True)
        assert (done["status"], done["version"]) == (AFTER[step], 2)
        assert done["history"] == [{"event": event, **data}]
        kind = KINDS[collection].name
        assert [(e.type, e.version, e.data) for e in uow.events.of(f"{kind}-{record_id}")][1:] == [
            (event, 2, {"id": record_id, **data})]


ALL_STATUSES = {"received", "acknowledged", "answered", "closed", "to_signal", "signalled", "open", "in_progress",
                "done", "abandoned", "planned", "held"}


@pytest.mark.parametrize("step", list(STEPS), ids=lambda s: "/".join(s))
async def test_each_step_is_refused_from_every_other_status(uow, step):
    collection, name = step
    allowed = STEPS[step][0]
    kind = KINDS[collection].name
    for status in sorted(ALL_STATUSES - allowed):
        record_id = await created(uow, collection, status)
        commits = uow.commits
        with pytest.raises(Conflict) as caught:
            await take_step(uow, CFA, collection, name, record_id, STEP_BODIES[step], TODAY)
        c = caught.value
        assert (c.code, c.title, c.detail) == ("invalid-transition", "The step does not fit the record's state",
                                               f"The {kind} is {status}.")
        assert c.extra == {"current_state": {"status": status, "version": 1}}
        assert uow.tables.records[record_id].version == 1 and len(uow.events.of(f"{kind}-{record_id}")) == 1
        assert uow.commits == commits


@pytest.mark.parametrize("step", list(STEPS), ids=lambda s: "/".join(s))
@pytest.mark.parametrize("on, code, message", [
    (date(2020, 1, 1), "before_record", "Dated before the record."),
    (date(2025, 7, 2), "date_in_future", "This records what already happened: no later than today (2025-07-01)."),
], ids=["before_its_record", "after_today"])
async def test_a_step_dated_before_its_record_or_after_today_is_refused(uow, step, on, code, message):
    collection, name = step
    record_id = await created(uow, collection)
    field = FIELD[collection]
    body = STEP_BODIES[step].model_copy(update={field: on})
    with pytest.raises(Refused) as caught:
        await take_step(uow, CFA, collection, name, record_id, body, TODAY)
    assert caught.value.code == "validation-error"
    assert caught.value.errors == [{"field": field, "code": code, "message": message}]
    assert uow.tables.records[record_id].version == 1


async def test_complaint_steps_in_order_keep_every_step_timed_and_attributed(uow):
    record_id = await created(uow, "complaints")
    for name in ("acknowledged", "answered", "closed"):
        done = await take_step(uow, CFA, "complaints", name, record_id, STEP_BODIES[("complaints", name)], TODAY)
    assert (done["status"], done["version"]) == ("closed", 4)
    assert [(h["event"], h["on"], h["by"]) for h in done["history"]] == [
        ("complaint.acknowledged", "2025-03-03", "QL"), ("complaint.answered", "2025-03-04", "QL"),
        ("complaint.closed", "2025-03-05", "QL")]
    assert list(done["history"][1]) == ["by", "on", "note", "step", "event"]   # jsonb's order


@pytest.mark.parametrize("status, event", [("in_progress", "measure.updated"), ("open", "measure.updated"),
                                           ("done", "measure.closed"), ("abandoned", "measure.closed")])
async def test_a_measure_takes_the_status_sent_and_closes_when_done_or_abandoned(uow, status, event):
    record_id = await created(uow, "measures")
    review = "Checked." if status == "done" else None
    body = r.MeasureUpdate(status=status, on="2025-03-10", effectiveness_review=review)
    done = await take_step(uow, CFA, "measures", "update", record_id, body, TODAY)
    assert done["status"] == status and done["history"][-1]["event"] == event


async def test_council_minutes_are_kept_with_the_council(uow):
    record_id = await created(uow, "councils")
    done = await take_step(uow, CFA, "councils", "minutes", record_id, STEP_BODIES[("councils", "minutes")], TODAY)
    assert done["status"] == "held" and done["period_from"] == "2024-09-01"
    assert done["history"] == [{"event": "council.held", "held_on": "2025-06-20", "minutes": "Reviewed.",
                                "attendees": ["Director"], "decisions": ["A slot"]}]


async def test_another_cfas_record_or_another_kind_is_not_found(uow):
    record_id = await created(uow, "complaints")
    for principal, collection in ((OTHER_CFA, "complaints"), (CFA, "incidents")):
        with pytest.raises(NotFound) as caught:
            await take_step(uow, principal, collection, "report", record_id, STEP_BODIES[("incidents", "report")],
                            TODAY)
        assert caught.value.detail == f"No such {KINDS[collection].name}."


async def test_a_step_racing_another_writer_is_a_conflict(uow):
    record_id = await created(uow, "complaints")
    uow.events.moved = True
    with pytest.raises(Conflict) as caught:
        await take_step(uow, CFA, "complaints", "acknowledged", record_id, STEP_BODIES[("complaints", "acknowledged")],
                        TODAY)
    assert caught.value.code == "concurrent-update"
    assert uow.tables.records[record_id].status == "received"
