"""Running a command on one contract: load its stream, check who may act, check If-Match,
decide, append at the loaded version (retrying on a concurrent write), refresh the views."""
from __future__ import annotations

from typing import Callable

from contract_events import payloads as ev
from services.contracts.application.authorization import require_role, visible
from services.contracts.application.errors import broken, concurrent_update, invalid_transition, stale
from services.contracts.application.sign import references
from services.contracts.application.unit_of_work import ContractsUnitOfWork, StreamChanged
from services.contracts.domain import lifecycle
from services.contracts.domain.lifecycle import Event, NotNow, RulesBroken
from services.contracts.domain.rules import Context
from services.contracts.domain.state import ContractState
from kernel.errors import NotFound
from shared.auth import Principal

RETRIES = 3


async def load_visible(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractState:
    state = await uow.contracts.load(contract_id)
    if state is None or not visible(principal, state):
        raise NotFound("contract")
    return state


async def run_command(uow: ContractsUnitOfWork, principal: Principal, contract_id: str,
                      decide: Callable[[ContractState], list[Event]], *, roles: tuple[str, ...],
                      if_match: int | None) -> ContractState:
    """The contract after the command; raises NotFound, Forbidden, Stale (If-Match), Conflict
    (the state does not fit, or the contract kept changing) or Refused (the data breaks a rule)."""
    async with uow:
        for _ in range(RETRIES):
            state = await load_visible(uow, principal, contract_id)
            require_role(principal, *roles)
            if if_match is not None and if_match != state.version:
                raise stale(if_match, state.version)
            try:
                events = decide(state)
            except NotNow as exc:
                raise invalid_transition(exc, state) from None
            except RulesBroken as exc:
                raise broken(exc.violations) from None
            try:
                await uow.contracts.record([(state, events)], principal.key_id)
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


def amend(state: ContractState, body: ev.Amendment) -> list[Event]:
    """An avenant, checked against the reference tables like a signature."""
    return lifecycle.amend(state, body, references(), Context())
