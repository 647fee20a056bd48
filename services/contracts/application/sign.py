"""Sign a contract (conclusion du contrat): check the terms, append ``contract.signed``; for a
successor, also ``contract.rehired`` on the previous contract, in the same transaction."""
from __future__ import annotations

import uuid

from services.contracts.adapters.unit_of_work import ContractsUnitOfWork
from services.contracts.application.commands import load_visible
from services.contracts.application.errors import rules_problem, state_problem
from services.contracts.domain.lifecycle import NotNow, RulesBroken, rehired, successor_context
from contract_events.signed import ContractTerms
from services.contracts.domain.rules import Context, References, check_contract
from services.contracts.domain.state import ContractState
from shared.api.problems import Problem
from shared.auth import Principal, require_role
from shared.eventstore.model import ConcurrencyConflict
from kernel.reference.tables import idcc_opco, remuneration_grid, smic_history


def references() -> References:
    return References(idcc_opco(), smic_history(), remuneration_grid())


async def sign_contract(uow: ContractsUnitOfWork, terms: ContractTerms, principal: Principal) -> ContractState:
    require_role(principal, "cfa")
    if principal.org not in (terms.cfa.uai, terms.cfa.siret):
        raise Problem(403, "foreign-cfa", "Forbidden", "A CFA key signs its own CFA's contracts only.")
    previous, ctx = None, Context()
    if terms.previous_contract_id:
        try:
            previous = await load_visible(uow, principal, terms.previous_contract_id)
        except Problem:
            raise Problem(422, "contract-rules", "The contract breaks one or more rules", "1 rule(s) failed.",
                          errors=[{"field": "previous_contract_id", "code": "unknown_contract",
                                   "message": "No such contract of this CFA."}]) from None
        try:
            ctx = successor_context(previous, terms)
        except NotNow as exc:
            raise state_problem(exc, previous) from None
        except RulesBroken as exc:
            raise rules_problem(exc) from None
    opco, violations = check_contract(terms, references(), ctx)
    if violations:
        raise rules_problem(RulesBroken(violations))
    contract_id = str(uuid.uuid4())
    data = {"contract_id": contract_id, **terms.model_dump(mode="json", exclude_none=True), "opco": opco}
    state = ContractState(contract_id)
    changes = [(state, [("contract.signed", data)])]
    if previous is not None:
        changes.append((previous, [rehired(previous, contract_id, terms.signed_on, opco)]))
    try:
        await uow.record(changes, principal.key_id)
    except ConcurrencyConflict:
        raise Problem(409, "concurrent-update", "Concurrent update",
                      "The previous contract changed meanwhile; retry.") from None
    return state
