"""Sign a contract (conclusion du contrat): take the CERFA (or the summary of version 1, read as
the CERFA it upcasts to), give the apprentice and the masters their pseudonymous ids, check the
terms, that no live contract of the apprentice covers the same days and that no master follows
too many apprentices, append ``contract.signed``; for a successor, also ``contract.rehired`` on
the previous contract, in the same transaction. Two signatures for one apprentice or one master
never pass together, the second sees the first: the apprentice's (and the masters') live
contracts are read first without holding them, and the append writes only if they are still as
read (the SQL unit re-reads them, holding them, in the append's statement: a signature is then
two round trips, no BEGIN nor COMMIT); when they changed, the signature runs again, reading them
held until the unit ends."""
from __future__ import annotations

import uuid
from dataclasses import replace

from contract_events.cerfa import Cerfa, missing_fields
from contract_events.signed import ContractTerms
from services.contracts.application.authorization import visible
from services.contracts.application.errors import broken, concurrent_update, invalid_transition, rules_refused
from services.contracts.application.unit_of_work import ContractsUnitOfWork, LiveChanged, StreamChanged
from services.contracts.domain.lifecycle import NotNow, RulesBroken, rehired, successor_context
from services.contracts.domain import pseudonyms
from services.contracts.domain.rules import Context, References, Tutored, Violation, as_cerfa, check_contract, occupied
from services.contracts.domain.state import ContractState
from contract_events.cerfa_codes import PUBLIC_EMPLOYER_TYPES
from kernel.errors import Forbidden
from kernel.reference.tables import idcc_opco, master_branch_conditions, remuneration_grid, smic_history
from kernel.access import Principal, can_see, require_role

UNKNOWN_PREVIOUS = {"field": "previous_contract_id", "code": "unknown_contract",
                    "message": "No such contract of this CFA."}


def references() -> References:
    return References(idcc_opco(), smic_history(), remuneration_grid(), master_branch_conditions())


def _completed(cerfa: Cerfa, key: bytes) -> Cerfa:
    """What Parcours fills in: the pseudonymous ids, the sector from the employer's type, the
    80 % distance-learning flag from the hours."""
    a = cerfa.apprentice
    apprentice_id = pseudonyms.apprentice_id(key, a.nir, a.birth_name, a.first_names, a.birth_date) or a.id
    masters = [m.model_copy(update={"id": pseudonyms.master_id(key, m.birth_name, m.first_names, m.birth_date)
                                    or m.id}) for m in cerfa.masters]
    employer, training = cerfa.employer, cerfa.training
    if employer.employer_type is not None:
        employer = employer.model_copy(update={"public_sector": employer.employer_type in PUBLIC_EMPLOYER_TYPES})
    if training.hours and training.remote_hours is not None:
        training = training.model_copy(update={"remote_at_least_80_percent":
                                               training.remote_hours * 5 >= training.hours * 4})
    return cerfa.model_copy(update={"apprentice": a.model_copy(update={"id": apprentice_id}), "masters": masters,
                                    "employer": employer, "training": training})


MISSING = "cerfa_field_missing"


def tutored(states: list[dict]) -> tuple[Tutored, ...]:
    """The days and kind of the live contracts a master follows (folded states)."""
    return tuple(Tutored(o.start, o.end, ContractState.from_dict(s).repeating)
                 for s in states if (o := occupied(None, s)) is not None)


async def sign_contract(uow: ContractsUnitOfWork, document: Cerfa | ContractTerms,
                        principal: Principal) -> ContractState:
    """The new contract's state; raises Forbidden (not this CFA's key), Refused (rules, a CERFA
    box left empty, or a previous contract this CFA does not have), Conflict (the previous
    contract cannot be followed, or changed meanwhile). A summary of version 1 is signed as the
    CERFA it upcasts to, without the checks only a whole CERFA allows."""
    require_role(principal, "cfa")
    full = isinstance(document, Cerfa)
    cerfa = as_cerfa(document)
    if principal.org not in (cerfa.training.cfa.uai, cerfa.training.cfa.siret):
        raise Forbidden("A CFA key signs its own CFA's contracts only.", code="foreign-cfa")
    missing = [Violation(path, MISSING, "This box of the CERFA must be filled in.")
               for path in missing_fields(cerfa.model_dump(mode="json"))] if full else []
    async with uow:
        cerfa = _completed(cerfa, await uow.secrets.pseudonym_key())
        if cerfa.apprentice.id is None:
            raise broken(missing or [Violation("apprentice.id", MISSING, "Give the apprentice's NIR or civil identity.")])
        try:
            state = await _sign(uow, cerfa, principal, full, missing, hold=False)
        except LiveChanged:   # what was read without holding it changed before the append: again, holding it
            state = await _sign(uow, cerfa, principal, full, missing, hold=True)
        await uow.commit()
    return state


async def _sign(uow: ContractsUnitOfWork, terms: Cerfa, principal: Principal, full: bool,
                missing: list[Violation], *, hold: bool) -> ContractState:
    """One attempt: read what the checks need (the apprentice's and the masters' live contracts
    held, or not with ``hold=False``: see the module's docstring), check, append."""
    previous, ctx = None, Context(full_cerfa=full)
    if terms.contract.previous_contract_id:
        previous = await uow.contracts.load(terms.contract.previous_contract_id)
        if previous is None or not visible(principal, previous):
            raise rules_refused([UNKNOWN_PREVIOUS])
        try:
            ctx = replace(successor_context(previous, terms), full_cerfa=full)
        except NotNow as exc:
            raise invalid_transition(exc, previous) from None
        except RulesBroken as exc:
            raise broken(exc.violations) from None
    live = await uow.views.live_for_apprentice(terms.apprentice.id, hold=hold)
    ctx = replace(ctx, occupied=tuple(o for v in live if (o := occupied(
        v.contract_id if can_see(principal, v.cfa_uai, v.cfa_siret, v.opco) else None, v.state))))
    loads = await uow.views.live_for_masters([m.id for m in terms.masters if m.id], hold=hold)
    ctx = replace(ctx, tutored={m: tutored(states) for m, states in loads.items()})
    opco, violations = check_contract(terms, references(), ctx)
    if missing or violations:
        raise broken(missing + violations)
    contract_id = str(uuid.uuid4())
    data = {"contract_id": contract_id, **terms.model_dump(mode="json", exclude_none=True), "opco": opco}
    state = ContractState(contract_id)
    changes = [(state, [("contract.signed", data)])]
    if previous is not None:
        changes.append((previous, [rehired(previous, contract_id, terms.contract.signed_on, opco)]))
    try:
        await uow.contracts.record(changes, principal.key_id, last=True)
    except StreamChanged:
        raise concurrent_update("The previous contract changed meanwhile; retry.") from None
    return state
