"""What each command does to a contract (pure): the events it emits, or why it cannot (the
deadlines that raise events by themselves are in deadlines.py).

``NotNow`` means the command does not fit the contract's state (409, nothing written);
``RulesBroken`` means the command's data breaks a rule (422)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from pydantic import ValidationError

from contract_events import payloads as ev
from services.contracts.domain.commands import Decision
from contract_events.cerfa import Cerfa, missing_fields
from contract_events.upcasting import changes_to_patch, diff_patch, merge_patch
from services.contracts.domain import pseudonyms
from services.contracts.domain.legal import RUPTURE_DAYS_BEFORE_START
from services.contracts.domain.rules import Context, References, Violation, check_contract
from services.contracts.domain.state import ContractState, Event
from kernel.legal import POST_RUPTURE_MONTHS
from kernel.months import add_months


class NotNow(Exception):
    def __init__(self, command: str, reason: str):
        self.command, self.reason = command, reason
        super().__init__(f"{command}: {reason}")


class RulesBroken(Exception):
    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("; ".join(v.code for v in violations))


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _open(s: ContractState, command: str) -> None:
    if s.status in ("completed", "cancelled"):
        raise NotNow(command, f"the contract is {s.status}")
    if s.status == "ruptured":
        raise NotNow(command, "the contract is ruptured")


def _rule(field: str, code: str, message: str, article: str | None = None) -> RulesBroken:
    return RulesBroken([Violation(field, code, message, article)])


def transmit(s: ContractState, body: ev.Transmission) -> list[Event]:
    _open(s, "transmission")
    if not s.needs_transmission:
        raise NotNow("transmission", "nothing to transmit: already transmitted")
    if body.transmitted_on < date.fromisoformat(s.signed_on):
        raise _rule("transmitted_on", "transmitted_before_signature", "Transmitted before it was signed.")
    if body.file_complete_on and body.file_complete_on < body.transmitted_on:
        raise _rule("file_complete_on", "complete_before_transmission", "The file cannot be complete before it is sent.")
    return [("contract.transmitted", ev.event_data(s.contract_id, body))]


def decide(s: ContractState, body: Decision) -> list[Event]:
    _open(s, "decision")
    if s.transmitted_on is None:
        raise NotNow("decision", "the contract has not been transmitted")
    if body.outcome == "instruction_extended":
        if s.decided or s.funding == "implicitly_rejected":
            raise NotNow("decision", "the funding is already decided")
        return [("contract.instruction_extended", {"contract_id": s.contract_id,
                                                   "notified_on": body.effective_date.isoformat()})]
    if body.outcome == "accepted":
        if body.annual_funding_level is None:
            raise _rule("annual_funding_level", "required", "An acceptance states the annual funding level.")
        data = ev.FundingAccepted(decided_on=body.effective_date, annual_funding_level=body.annual_funding_level,
                                  disability_uplift_annual=body.disability_uplift_annual)
        return [("contract.funding_accepted", ev.event_data(s.contract_id, data))]
    if not body.motive:
        raise _rule("motive", "required", "A refusal states its motive.")
    if s.deposit_number and not s.needs_deposit:
        raise NotNow("decision", "the contract is already deposited")
    data = ev.FundingRefused(decided_on=body.effective_date, motive=body.motive)
    return [("contract.funding_refused", ev.event_data(s.contract_id, data))]


def deposit(s: ContractState, body: ev.Deposit) -> list[Event]:
    _open(s, "deposit")
    if s.transmitted_on is None or s.needs_transmission:
        raise NotNow("deposit", "the contract has not been transmitted")
    if s.funding not in ("accepted", "implicitly_accepted"):
        raise NotNow("deposit", "the funding is not accepted")
    if not s.needs_deposit:
        raise NotNow("deposit", "already deposited")
    return [("contract.deposited", ev.event_data(s.contract_id, body))]


def amend(s: ContractState, body: ev.Amendment | ev.AmendmentV2, refs: References, ctx: Context) -> list[Event]:
    """``changes``: a merge patch over the CERFA, or the summary's names of version 1
    (``planned_end_date``...), read as the patch they mean. The event records the smallest patch
    from the terms in force to the amended ones, normalised."""
    _open(s, "amendment")
    patch = changes_to_patch(body.changes, s.start_date)
    if patch.get("masters") and ctx.pseudonym_key is not None:
        patch["masters"] = [{**m, "id": pseudonyms.master_id_of(ctx.pseudonym_key, m) or m.get("id")} for m in patch["masters"]]
    apprentice = patch.get("apprentice") or {}
    if "id" in apprentice and apprentice["id"] != s.apprentice_id:
        raise _rule("changes.apprentice.id", "apprentice_cannot_change", "An avenant keeps the same apprentice.")
    try:
        terms = Cerfa.model_validate(merge_patch(s.terms, patch))
    except ValidationError as exc:
        raise RulesBroken([Violation("changes." + ".".join(str(p) for p in e["loc"]), e["type"], e["msg"])
                           for e in exc.errors()]) from None
    ctx = replace(ctx, full_cerfa=not missing_fields(s.terms))
    opco, violations = check_contract(terms, refs, ctx)
    if violations:
        raise RulesBroken(violations)
    amended = terms.model_dump(mode="json", exclude_none=True)
    amended["opco"] = opco
    before = Cerfa.model_validate(s.terms).model_dump(mode="json", exclude_none=True)
    before["opco"] = s.opco
    changes = diff_patch(before, amended)
    if not changes:
        raise _rule("changes", "amendment_changes_nothing", "The avenant leaves every field as it was.")
    data = {"contract_id": s.contract_id, "effective_on": body.effective_on.isoformat(),
            "amendment_type": body.amendment_type, "changes": changes}
    return [("contract.amended", data)]


def rupture(s: ContractState, body: ev.Rupture) -> list[Event]:
    _open(s, "rupture")
    start = date.fromisoformat(s.start_date)
    if body.ruptured_on < start - timedelta(days=RUPTURE_DAYS_BEFORE_START):
        raise _rule("ruptured_on", "rupture_before_start", "A contract that has not started is cancelled, not ruptured.")
    return [("contract.ruptured", ev.event_data(s.contract_id, body))]


def end_post_rupture_training(s: ContractState, body: ev.PostRuptureTrainingEnded) -> list[Event]:
    if s.status != "ruptured" or not s.continues_training:
        raise NotNow("post-rupture-training-end", "the apprentice is not in post-rupture training")
    ruptured_on = date.fromisoformat(s.ruptured_on)
    if body.ended_on < ruptured_on:
        raise _rule("ended_on", "ended_before_rupture", "Post-rupture training ends on or after the rupture.")
    limit = add_months(ruptured_on, POST_RUPTURE_MONTHS) - timedelta(days=1)
    if body.ended_on > limit:
        raise _rule("ended_on", "post_rupture_limit_exceeded",
                    f"Post-rupture training lasts at most {POST_RUPTURE_MONTHS} months (until {limit.isoformat()}).",
                    "L6222-18-2")
    return [("contract.post_rupture_training_ended", ev.event_data(s.contract_id, body))]


def complete(s: ContractState, body: ev.Completion) -> list[Event]:
    _open(s, "completion")
    if body.ended_on < date.fromisoformat(s.start_date):
        raise _rule("ended_on", "ended_before_start", "A contract cannot end before it starts.")
    return [("contract.completed", ev.event_data(s.contract_id, body))]


def cancel(s: ContractState, body: ev.Cancellation) -> list[Event]:
    _open(s, "cancellation")
    if body.cancelled_on > date.fromisoformat(s.start_date):
        raise NotNow("cancellation", "the contract has started: record a rupture instead")
    return [("contract.cancelled", ev.event_data(s.contract_id, body))]


def successor_context(previous: ContractState, terms: Cerfa) -> Context:
    """Check a successor (previous_contract_id) against the contract it follows."""
    if previous.status not in ("ruptured", "completed"):
        raise NotNow("signature", f"the previous contract is {previous.status}, neither ruptured nor completed")
    if previous.successor_contract_id:
        raise NotNow("signature", "the previous contract already has a successor")
    if previous.apprentice_id != terms.apprentice.id:
        raise _rule("contract.previous_contract_id", "other_apprentice", "The previous contract is another apprentice's.")
    end = _d(previous.ruptured_on) or _d(previous.ended_on) or _d(previous.planned_end_date)
    return Context(previous_end=end, previous_ruptured=previous.status == "ruptured")


def rehired(previous: ContractState, new_contract_id: str, signed_on: date, opco: str | None) -> Event:
    data = ev.Rehired(new_contract_id=new_contract_id, signed_on=signed_on, opco=opco)
    return ("contract.rehired", ev.event_data(previous.contract_id, data))

