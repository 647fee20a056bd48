"""Signing against the in-memory unit of work: what is recorded, who may sign, every refusal, the
Idempotency-Key around it, and successors (contract.rehired in the same unit)."""
from datetime import date

import pytest

from kernel.errors import Conflict, Forbidden, Refused
from shared.api.idempotency import answer_once
from services.contracts.application.sign import sign_contract
from shared.api.domain_errors import as_problem
from shared.api.idempotency import Outcome, fingerprint
from shared.api.problems import Problem
from tests.unit.contracts.fakes import FakeUnitOfWork
from tests.unit.contracts.given import ATLAS, CFA, CFA_BY_SIRET, OPS, OTHER_CFA, OTHER_UAI, contract, step, terms


@pytest.fixture
def uow():
    return FakeUnitOfWork()


async def test_a_signature_records_the_contract_its_view_and_its_transmission_deadline(uow):
    state = await sign_contract(uow, terms(), CFA)
    assert (state.status, state.version, state.opco) == ("signed", 1, "ATLAS")
    (event,) = uow.tables.streams[state.contract_id]
    assert event.type == "contract.signed" and event.metadata == {"partitionkey": "app-1", "actor": "k-cfa"}
    assert event.data["contract_id"] == state.contract_id and event.data["opco"] == "ATLAS"
    view = uow.tables.views[state.contract_id]
    assert (view.status, view.version, view.cfa_uai, view.signed_on) == ("signed", 1, "0751234J", date(2024, 9, 20))
    assert uow.tables.deadlines == {(state.contract_id, "transmission"): date(2024, 10, 4)}   # D6224-1
    assert uow.commits == 1


async def test_a_cfa_key_named_by_its_siret_signs_too(uow):
    assert (await sign_contract(uow, terms(), CFA_BY_SIRET)).status == "signed"


@pytest.mark.parametrize("principal, role", [(ATLAS, "opco"), (OPS, "ops")])
async def test_only_a_cfa_key_signs(uow, principal, role):
    with pytest.raises(Forbidden) as caught:
        await sign_contract(uow, terms(), principal)
    assert (caught.value.code, caught.value.title) == ("forbidden-role", "Forbidden")
    assert caught.value.detail == f"This action needs a cfa key; this key's role is {role}."
    assert uow.tables.streams == {} and uow.commits == 0


async def test_a_cfa_key_signs_its_own_cfas_contracts_only(uow):
    with pytest.raises(Forbidden) as caught:
        await sign_contract(uow, terms(), OTHER_CFA)
    assert as_problem(caught.value).body() == {
        "type": "urn:parcours:problem:foreign-cfa", "title": "Forbidden", "status": 403,
        "detail": "A CFA key signs its own CFA's contracts only."}
    assert uow.tables.streams == {}


async def test_a_rule_refusal_lists_every_failed_rule_and_writes_nothing(uow):
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, terms(planned_end_date="2030-01-01",
                                       apprentice={"id": "app-1", "birth_date": "1980-01-01"}), CFA)
    body = as_problem(caught.value).body()
    assert (body["status"], body["type"], body["title"], body["detail"]) == (
        422, "urn:parcours:problem:contract-rules", "The contract breaks one or more rules", "2 rule(s) failed.")
    assert [(e["code"], e["article"]) for e in body["errors"]] == [("duration_too_long", "L6222-7-1"),
                                                                   ("apprentice_too_old", "L6222-1")]
    assert uow.tables.streams == {} and uow.tables.views == {} and uow.commits == 0


# -- Idempotency-Key, as the POST wraps the handler ---------------------------------------------
def signing(uow, t):
    async def action() -> Outcome:
        state = await sign_contract(uow, t, CFA)
        return Outcome(201, {"contract_id": state.contract_id, "version": state.version},
                       {"Location": f"/v1/contracts/{state.contract_id}"})
    return action


def digest(t) -> str:
    return fingerprint("POST", "/v1/contracts", t.model_dump(mode="json"))


async def test_the_same_key_and_body_replay_the_first_answer_and_sign_once(uow):
    t = terms()
    first = await answer_once(uow, CFA, "k1", digest(t), signing(uow, t))
    again = await answer_once(uow, CFA, "k1", digest(t), signing(uow, t))
    assert not first.replayed and again.replayed
    assert (again.status, again.body, again.headers) == (first.status, first.body, first.headers)
    assert list(uow.tables.streams) == [first.body["contract_id"]] and uow.commits == 2


async def test_the_same_key_with_another_body_is_refused_and_signs_nothing(uow):
    t, other = terms(), terms(signed_on="2024-09-21")
    await answer_once(uow, CFA, "k1", digest(t), signing(uow, t))
    with pytest.raises(Problem) as caught:
        await answer_once(uow, CFA, "k1", digest(other), signing(uow, other))
    assert (caught.value.status, caught.value.code) == (422, "idempotency-key-reused")
    assert len(uow.tables.streams) == 1


async def test_a_refused_signature_keeps_no_answer_so_its_key_can_be_used_again(uow):
    bad = terms(planned_end_date="2030-01-01")
    with pytest.raises(Refused):
        await answer_once(uow, CFA, "k1", digest(bad), signing(uow, bad))
    assert uow.tables.answers == {}
    good = terms()
    assert not (await answer_once(uow, CFA, "k1", digest(good), signing(uow, good))).replayed


# -- successors -------------------------------------------------------------------------------
SUCCESSOR = dict(contract_type="23", signed_on="2025-03-01", start_date="2025-03-03", planned_end_date="2026-03-02")


async def test_a_successor_is_signed_with_contract_rehired_on_the_previous_one(uow):
    previous = await contract(uow, "transmission", "decision", "deposit", "rupture")
    state = await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    rehired = uow.tables.streams[previous][-1]
    assert rehired.type == "contract.rehired" and rehired.data["new_contract_id"] == state.contract_id
    assert rehired.data["signed_on"] == "2025-03-01" and rehired.metadata["actor"] == "k-cfa"
    assert uow.tables.views[previous].state["successor_contract_id"] == state.contract_id


@pytest.mark.parametrize("previous_of", ["nobody", "another CFA"])
async def test_a_previous_contract_this_cfa_does_not_have_is_a_rule_refusal(uow, previous_of):
    previous = "nope"
    if previous_of == "another CFA":
        previous = (await sign_contract(uow, terms(cfa={"uai": OTHER_UAI}), OTHER_CFA)).contract_id
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    assert caught.value.code == "contract-rules" and caught.value.detail == "1 rule(s) failed."
    assert caught.value.errors == [{"field": "previous_contract_id", "code": "unknown_contract",
                                    "message": "No such contract of this CFA."}]


async def test_a_previous_contract_still_running_is_a_conflict_with_its_state(uow):
    previous = await contract(uow, "transmission")
    with pytest.raises(Conflict) as caught:
        await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    assert (caught.value.code, caught.value.title) == ("invalid-transition",
                                                       "The command does not fit the contract's state")
    assert caught.value.detail == "signature: the previous contract is transmitted, neither ruptured nor completed."
    assert caught.value.extra == {"current_state": {"status": "transmitted", "version": 2,
                                                    "needs_transmission": False, "funding": None}}
    assert len(uow.tables.streams) == 1


async def test_a_previous_contract_with_a_successor_already_is_a_conflict(uow):
    previous = await contract(uow, "rupture")
    await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    with pytest.raises(Conflict) as caught:
        await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    assert caught.value.detail == "signature: the previous contract already has a successor."


async def test_another_apprentices_previous_contract_is_refused(uow):
    previous = await contract(uow, "rupture")
    with pytest.raises(Refused) as caught:
        await sign_contract(uow, terms(previous_contract_id=previous, apprentice={"id": "app-2",
                                                                                "birth_date": "2005-03-14"},
                                       **SUCCESSOR), CFA)
    assert [e["code"] for e in caught.value.errors] == ["other_apprentice"]


async def test_a_previous_contract_changed_meanwhile_is_a_conflict_and_nothing_is_signed(uow):
    previous = await contract(uow, "rupture")
    commits = uow.commits

    async def another_writer():   # the CFA ends the post-rupture training in another transaction
        await step(FakeUnitOfWork(uow.tables), previous, "post-rupture-training-end")
    uow.contracts.meanwhile.append(another_writer)
    with pytest.raises(Conflict) as caught:
        await sign_contract(uow, terms(previous_contract_id=previous, **SUCCESSOR), CFA)
    assert (caught.value.code, caught.value.detail) == ("concurrent-update",
                                                        "The previous contract changed meanwhile; retry.")
    assert list(uow.tables.streams) == [previous] and uow.commits == commits
