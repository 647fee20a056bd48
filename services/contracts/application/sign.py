"""Sign a contract (conclusion du contrat): check the terms, and that no live contract of the
apprentice covers the same days, append ``contract.signed``; for a successor, also
``contract.rehired`` on the previous contract, in the same transaction. Reading the apprentice's
contracts holds the apprentice until the transaction ends: two signatures for one apprentice run
one after the other, the second sees the first."""
from __future__ import annotations

import uuid
from dataclasses import replace

from contract_events.signed import ContractTerms
from services.contracts.application.authorization import visible
from services.contracts.application.errors import broken, concurrent_update, invalid_transition, rules_refused
from services.contracts.application.unit_of_work import ContractsUnitOfWork, StreamChanged
from services.contracts.domain.lifecycle import NotNow, RulesBroken, rehired, successor_context
from services.contracts.domain.rules import Context, References, check_contract, occupied
from services.contracts.domain.state import ContractState
from kernel.errors import Forbidden
from kernel.reference.tables import idcc_opco, remuneration_grid, smic_history
from kernel.access import Principal, can_see, require_role

UNKNOWN_PREVIOUS = {"field": "previous_contract_id", "code": "unknown_contract",
                    "message": "No such contract of this CFA."}


def references() -> References:
    return References(idcc_opco(), smic_history(), remuneration_grid())


async def sign_contract(uow: ContractsUnitOfWork, terms: ContractTerms, principal: Principal) -> ContractState:
    """The new contract's state; raises Forbidden (not this CFA's key), Refused (rules, or a
    previous contract this CFA does not have), Conflict (the previous contract cannot be followed,
    or changed meanwhile)."""
    require_role(principal, "cfa")
    if principal.org not in (terms.cfa.uai, terms.cfa.siret):
        raise Forbidden("A CFA key signs its own CFA's contracts only.", code="foreign-cfa")
    async with uow:
        previous, ctx = None, Context()
        if terms.previous_contract_id:
            previous = await uow.contracts.load(terms.previous_contract_id)
            if previous is None or not visible(principal, previous):
                raise rules_refused([UNKNOWN_PREVIOUS])
            try:
                ctx = successor_context(previous, terms)
            except NotNow as exc:
                raise invalid_transition(exc, previous) from None
            except RulesBroken as exc:
                raise broken(exc.violations) from None
        live = await uow.views.live_for_apprentice(terms.apprentice.id)   # held until the unit ends
        ctx = replace(ctx, occupied=tuple(o for v in live if (o := occupied(
            v.contract_id if can_see(principal, v.cfa_uai, v.cfa_siret, v.opco) else None, v.state))))
        opco, violations = check_contract(terms, references(), ctx)
        if violations:
            raise broken(violations)
        contract_id = str(uuid.uuid4())
        data = {"contract_id": contract_id, **terms.model_dump(mode="json", exclude_none=True), "opco": opco}
        state = ContractState(contract_id)
        changes = [(state, [("contract.signed", data)])]
        if previous is not None:
            changes.append((previous, [rehired(previous, contract_id, terms.signed_on, opco)]))
        try:
            await uow.contracts.record(changes, principal.key_id)
        except StreamChanged:
            raise concurrent_update("The previous contract changed meanwhile; retry.") from None
        await uow.commit()
    return state
