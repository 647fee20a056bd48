"""Running a command on one contract: load its stream, check who may act, check If-Match,
decide, append at the loaded version (retrying on a concurrent write), refresh the views."""
from __future__ import annotations

from typing import Callable

from services.contracts.adapters.unit_of_work import ContractsUnitOfWork
from services.contracts.application.errors import rules_problem, stale, state_problem
from services.contracts.domain.lifecycle import Event, NotNow, RulesBroken
from services.contracts.domain.state import ContractState
from shared.api.problems import Problem, not_found
from shared.auth import Principal, require_role
from shared.eventstore.model import ConcurrencyConflict
from shared.tenancy import can_see

RETRIES = 3


def visible(principal: Principal, state: ContractState) -> bool:
    cfa = state.terms["cfa"]
    return can_see(principal, cfa["uai"], cfa.get("siret"), state.opco)


async def load_visible(uow: ContractsUnitOfWork, principal: Principal, contract_id: str) -> ContractState:
    state = await uow.load(contract_id)
    if state is None or not visible(principal, state):
        raise not_found("contract")
    return state


async def run_command(uow: ContractsUnitOfWork, principal: Principal, contract_id: str,
                      decide: Callable[[ContractState], list[Event]], *, roles: tuple[str, ...],
                      if_match: int | None) -> ContractState:
    for attempt in range(RETRIES):
        state = await load_visible(uow, principal, contract_id)
        require_role(principal, *roles)
        if if_match is not None and if_match != state.version:
            raise stale(if_match, state.version)
        try:
            events = decide(state)
        except NotNow as exc:
            raise state_problem(exc, state) from None
        except RulesBroken as exc:
            raise rules_problem(exc) from None
        try:
            await uow.record([(state, events)], principal.key_id)
            return state
        except ConcurrencyConflict:
            if if_match is not None:
                raise stale(if_match, await _version(uow, contract_id)) from None
    raise Problem(409, "concurrent-update", "Concurrent update", "The contract kept changing; retry.")


async def _version(uow: ContractsUnitOfWork, contract_id: str) -> int:
    state = await uow.load(contract_id)
    return state.version if state else 0


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(400, "invalid-if-match", "Invalid If-Match", 'Send the ETag you read, e.g. If-Match: "3".')
    return int(tag)
