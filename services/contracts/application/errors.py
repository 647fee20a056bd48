"""Problem documents of the contracts service."""
from __future__ import annotations

from services.contracts.domain.lifecycle import NotNow, RulesBroken
from services.contracts.domain.state import ContractState
from shared.api.problems import Problem


def rules_problem(exc: RulesBroken) -> Problem:
    return Problem(422, "contract-rules", "The contract breaks one or more rules",
                   f"{len(exc.violations)} rule(s) failed.", errors=[v.as_dict() for v in exc.violations])


def state_problem(exc: NotNow, state: ContractState) -> Problem:
    return Problem(409, "invalid-transition", "The command does not fit the contract's state",
                   f"{exc.command}: {exc.reason}.",
                   current_state={"status": state.status, "version": state.version,
                                  "needs_transmission": state.needs_transmission, "funding": state.funding})


def stale(expected: int, actual: int) -> Problem:
    return Problem(412, "stale-version", "Precondition failed",
                   f"If-Match names version {expected}; the contract is at version {actual}.",
                   current_version=actual)
