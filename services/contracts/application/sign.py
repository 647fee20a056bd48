"""Sign a contract (conclusion du contrat): check the terms, append ``contract.signed``."""
from __future__ import annotations

import uuid

from services.contracts.adapters.unit_of_work import ContractsUnitOfWork
from services.contracts.domain.checks import check_signature
from services.contracts.domain.model import ContractTerms
from services.contracts.domain.state import fold
from shared.api.problems import Problem
from shared.auth import Principal, require_role
from shared.eventstore.model import NewEvent, StreamAppend
from shared.reference.tables import idcc_opco


def invalid(violations) -> Problem:
    return Problem(422, "contract-rules", "The contract breaks one or more rules",
                   f"{len(violations)} rule(s) failed.", errors=[v.as_dict() for v in violations])


async def sign_contract(uow: ContractsUnitOfWork, terms: ContractTerms, principal: Principal):
    require_role(principal, "cfa")
    if principal.org not in (terms.cfa.uai, terms.cfa.siret):
        raise Problem(403, "foreign-cfa", "Forbidden", "A CFA key signs its own CFA's contracts only.")
    opco, violations = check_signature(terms, idcc_opco())
    if violations:
        raise invalid(violations)
    contract_id = str(uuid.uuid4())
    data = {"contract_id": contract_id, **terms.model_dump(mode="json", exclude_none=True), "opco": opco}
    event = NewEvent("contract.signed", data,
                     metadata={"partitionkey": terms.apprentice.id, "actor": principal.key_id})
    async with uow:
        await uow.append([StreamAppend(contract_id, 0, [event])])
        state = fold(contract_id, [(event.type, data)])
        await uow.save_view(state)
    return state
