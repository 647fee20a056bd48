"""The lifecycle commands (``COMMANDS``: body, roles, decision) and running one on a contract:
load its stream, check who may act, check If-Match, decide, append at the loaded version
(retrying on a concurrent write), refresh the views."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pydantic import BaseModel

from contract_events import payloads as ev
from services.contracts.application.authorization import visible
from services.contracts.application.errors import broken, concurrent_update, invalid_transition, stale
from contract_events.upcasting import changes_to_patch
from services.contracts.application.sign import references, tutored
from services.contracts.domain.pseudonyms import master_id_of
from services.contracts.application.unit_of_work import ContractsUnitOfWork, StreamChanged
from services.contracts.domain import lifecycle
from services.contracts.domain.commands import Decision
from services.contracts.domain.lifecycle import Event, NotNow, RulesBroken
from services.contracts.domain.rules import Context
from services.contracts.domain.state import ContractState
from kernel.errors import NotFound
from kernel.access import Principal, require_role

RETRIES = 3


@dataclass(frozen=True)
class Command:
    body: type[BaseModel]
    roles: tuple[str, ...]
    decide: Callable[[ContractState, Any], list[Event]]
    # what the decision needs from the store beyond the contract (read in the command's unit)
    context: Callable[[ContractsUnitOfWork, ContractState, Any], Awaitable[Context]] | None = None


async def masters_context(uow: ContractsUnitOfWork, state: ContractState, body: ev.Amendment) -> Context:
    """An avenant that names masters: their pseudonymous ids, and the other live contracts each
    follows (R6223-6), held until the unit ends as on signature."""
    patch = changes_to_patch(body.changes, state.start_date)
    if not patch.get("masters"):
        return Context()
    key = await uow.secrets.pseudonym_key()
    ids = [master_id_of(key, m) for m in patch["masters"]]
    loads = await uow.views.live_for_masters([i for i in ids if i])
    return Context(pseudonym_key=key, tutored={m: tutored([s for s in states if s["contract_id"] != state.contract_id])
                                               for m, states in loads.items()})


def amend(state: ContractState, body: ev.Amendment, ctx: Context = Context()) -> list[Event]:
    """An avenant, checked against the reference tables like a signature."""
    return lifecycle.amend(state, body, references(), ctx)


CFA, OPCO = ("cfa",), ("opco",)
COMMANDS: dict[str, Command] = {   # by the path of their route, in the order of the API document
    "transmission": Command(ev.Transmission, CFA, lifecycle.transmit),
    "decision": Command(Decision, OPCO, lifecycle.decide),
    "deposit": Command(ev.Deposit, OPCO, lifecycle.deposit),
    "amendments": Command(ev.Amendment, CFA, amend, masters_context),
    "rupture": Command(ev.Rupture, CFA, lifecycle.rupture),
    "post-rupture-training-end": Command(ev.PostRuptureTrainingEnded, CFA, lifecycle.end_post_rupture_training),
    "completion": Command(ev.Completion, CFA, lifecycle.complete),
    "cancellation": Command(ev.Cancellation, CFA, lifecycle.cancel),
}


async def load_visible(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractState:
    state = await uow.contracts.load(contract_id)
    if state is None or not visible(principal, state):
        raise NotFound("contract")
    return state


async def run_command(uow: ContractsUnitOfWork, principal: Principal, contract_id: str, command: Command,
                      body: BaseModel, *, if_match: int | None = None) -> ContractState:
    """The contract after the command; raises NotFound, Forbidden, Stale (If-Match), Conflict
    (the state does not fit, or the contract kept changing) or Refused (the data breaks a rule)."""
    async with uow:
        for _ in range(RETRIES):
            state = await load_visible(uow, principal, contract_id)
            require_role(principal, *command.roles)
            if if_match is not None and if_match != state.version:
                raise stale(if_match, state.version)
            try:
                if command.context is not None:
                    events = command.decide(state, body, await command.context(uow, state, body))
                else:
                    events = command.decide(state, body)
            except NotNow as exc:
                raise invalid_transition(exc, state) from None
            except RulesBroken as exc:
                raise broken(exc.violations) from None
            try:
                await uow.contracts.record([(state, events)], principal.key_id, last=True)
            except StreamChanged:
                if if_match is not None:
                    raise stale(if_match, await _version(uow, contract_id)) from None
                continue
            await uow.commit()
            return state
    raise concurrent_update("The contract kept changing; retry.")


async def _version(uow: ContractsUnitOfWork, contract_id: str) -> int:
    state = await uow.contracts.load(contract_id)
    return state.version if state else 0
