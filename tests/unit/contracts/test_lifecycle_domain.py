"""The pure lifecycle (domain/lifecycle.py, deadlines.py, state.py) at its limits: the day before and
the day of each, and the state a sequence of events folds into."""
from datetime import date

import pytest

from contract_events import payloads as ev
from services.contracts.domain import lifecycle
from services.contracts.domain.commands import Decision
from services.contracts.domain.deadlines import deadlines, fire
from services.contracts.domain.lifecycle import NotNow, RulesBroken, successor_context
from services.contracts.domain.state import ContractState, fold
from contract_events.upcasting import upcast
from tests.unit.contracts.given import terms

SIGNED = ("contract.signed", upcast("contract.signed", 1, {   # a summary of version 1, read as the CERFA
    "contract_id": "c1", **terms().model_dump(mode="json", exclude_none=True), "opco": "ATLAS"}))  # starts 2024-09-28
TRANSMITTED = ("contract.transmitted", {"contract_id": "c1", "transmitted_on": "2024-09-30", "by": "cfa",
                                        "file_complete_on": "2024-10-02"})
ACCEPTED = ("contract.funding_accepted", {"contract_id": "c1", "decided_on": "2024-10-10",
                                          "annual_funding_level": "7000.00"})
DEPOSITED = ("contract.deposited", {"contract_id": "c1", "deposited_on": "2024-10-12", "deposit_number": "N1"})
RUPTURED = ("contract.ruptured", {"contract_id": "c1", "ruptured_on": "2025-01-15", "reason": "mutual_agreement",
                                  "continues_training": True})


def state(*events) -> ContractState:
    return fold("c1", [SIGNED, *events])


# -- limits of the commands -----------------------------------------------------------------------
@pytest.mark.parametrize("ended_on, ok", [("2025-07-14", True), ("2025-07-15", False)])
def test_post_rupture_training_lasts_at_most_6_months(ended_on, ok):
    s = state(RUPTURED)   # ruptured 2025-01-15: the last day is 2025-07-14 (L6222-18-2)
    body = ev.PostRuptureTrainingEnded(ended_on=ended_on, reason="left_cfa")
    if ok:
        assert lifecycle.end_post_rupture_training(s, body)[0][0] == "contract.post_rupture_training_ended"
    else:
        with pytest.raises(RulesBroken) as caught:
            lifecycle.end_post_rupture_training(s, body)
        (v,) = caught.value.violations
        assert (v.code, v.article) == ("post_rupture_limit_exceeded", "L6222-18-2")
        assert v.message == "Post-rupture training lasts at most 6 months (until 2025-07-14)."


def test_post_rupture_training_ends_on_or_after_the_rupture():
    body = ev.PostRuptureTrainingEnded(ended_on="2025-01-14", reason="left_cfa")
    with pytest.raises(RulesBroken) as caught:
        lifecycle.end_post_rupture_training(state(RUPTURED), body)
    assert caught.value.violations[0].code == "ended_before_rupture"


@pytest.mark.parametrize("ruptured_on, ok", [("2024-09-27", True), ("2024-09-26", False)])
def test_a_rupture_is_dated_the_day_before_the_start_at_the_earliest(ruptured_on, ok):
    body = ev.Rupture(ruptured_on=ruptured_on, reason="mutual_agreement")
    if ok:
        assert lifecycle.rupture(state(), body)[0][0] == "contract.ruptured"
    else:
        with pytest.raises(RulesBroken) as caught:
            lifecycle.rupture(state(), body)
        assert caught.value.violations[0].code == "rupture_before_start"


@pytest.mark.parametrize("cancelled_on, ok", [("2024-09-28", True), ("2024-09-29", False)])
def test_a_contract_is_cancelled_on_its_start_date_at_the_latest(cancelled_on, ok):
    body = ev.Cancellation(cancelled_on=cancelled_on, motive="withdrawn")
    if ok:
        assert lifecycle.cancel(state(), body)[0][0] == "contract.cancelled"
    else:
        with pytest.raises(NotNow):
            lifecycle.cancel(state(), body)


@pytest.mark.parametrize("ended_on, ok", [("2024-09-28", True), ("2024-09-27", False)])
def test_a_contract_ends_on_its_start_date_at_the_earliest(ended_on, ok):
    body = ev.Completion(ended_on=ended_on)
    if ok:
        assert lifecycle.complete(state(), body)[0][0] == "contract.completed"
    else:
        with pytest.raises(RulesBroken):
            lifecycle.complete(state(), body)


def test_the_funders_decisions():
    extended = Decision(outcome="instruction_extended", notified_on="2024-10-15")
    assert lifecycle.decide(state(TRANSMITTED), extended)[0][0] == "contract.instruction_extended"
    for decided in (ACCEPTED, ("contract.funding_implicitly_rejected", {"contract_id": "c1"})):
        with pytest.raises(NotNow):
            lifecycle.decide(state(TRANSMITTED, decided), extended)
    with pytest.raises(RulesBroken) as caught:
        lifecycle.decide(state(TRANSMITTED), Decision(outcome="refused", decided_on="2024-10-10"))
    assert caught.value.violations[0].field == "motive"
    with pytest.raises(NotNow):   # deposited, no new deposit pending: no refusal any more
        lifecycle.decide(state(TRANSMITTED, ACCEPTED, DEPOSITED),
                         Decision(outcome="refused", decided_on="2024-11-01", motive="late"))


def test_a_successor_is_checked_against_the_previous_end():
    ended = state(("contract.completed", {"contract_id": "c1", "ended_on": "2025-09-30"}))
    assert successor_context(ended, terms()).previous_end == date(2025, 9, 30)
    ruptured = successor_context(state(RUPTURED), terms())
    assert (ruptured.previous_end, ruptured.previous_ruptured) == (date(2025, 1, 15), True)


# -- deadlines --------------------------------------------------------------------------------
def test_the_transmission_deadline_runs_from_the_start_until_transmitted():
    assert deadlines(state()) == {"transmission": date(2024, 10, 4), "decision": None}   # D6224-1
    assert fire(state(), "transmission", date(2024, 10, 4)) == []
    assert fire(state(), "transmission", date(2024, 10, 5)) == [
        ("contract.transmission_overdue", {"contract_id": "c1", "deadline_on": "2024-10-04"})]
    assert deadlines(state(TRANSMITTED))["transmission"] is None
    overdue = state(("contract.transmission_overdue", {"contract_id": "c1", "deadline_on": "2024-10-04"}))
    assert deadlines(overdue)["transmission"] is None   # raised once


def test_the_decision_deadline_runs_20_days_from_the_complete_file():
    assert deadlines(state(TRANSMITTED))["decision"] == date(2024, 10, 22)
    assert fire(state(TRANSMITTED), "decision", date(2024, 10, 22)) == []
    assert fire(state(TRANSMITTED), "decision", date(2024, 10, 23))[0][0] == "contract.funding_implicitly_rejected"
    for stopped in (ACCEPTED, ("contract.instruction_extended", {"contract_id": "c1", "notified_on": "2024-10-15"}),
                    RUPTURED):
        assert deadlines(state(TRANSMITTED, stopped))["decision"] is None


# -- the fold ---------------------------------------------------------------------------------
def test_an_explicit_acceptance_stands_over_an_implicit_rejection():
    s = state(TRANSMITTED, ("contract.funding_implicitly_rejected", {"contract_id": "c1"}))
    assert (s.status, s.funding) == ("refused", "implicitly_rejected")
    s = state(TRANSMITTED, ("contract.funding_implicitly_rejected", {"contract_id": "c1"}), ACCEPTED)
    assert (s.status, s.funding, s.version) == ("accepted", "accepted", 4)


def test_an_amended_deposited_contract_stays_deposited_until_deposited_again():
    amended = ("contract.amended", {"contract_id": "c1", "changes": {"contract": {"planned_end_date": "2026-01-31"}}})
    s = state(TRANSMITTED, ACCEPTED, DEPOSITED, amended)
    assert (s.status, s.needs_transmission, s.planned_end_date) == ("deposited", True, "2026-01-31")
    s = state(TRANSMITTED, ACCEPTED, DEPOSITED, amended, TRANSMITTED)
    assert (s.status, s.needs_transmission, s.needs_deposit) == ("deposited", False, True)


def test_silence_accepts_for_a_public_employer():
    s = state(TRANSMITTED, ("contract.funding_implicitly_accepted", {"contract_id": "c1"}))
    assert (s.status, s.funding, s.decided) == ("accepted", "implicitly_accepted", True)
