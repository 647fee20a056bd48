"""The domain errors the contracts handlers raise (kernel/errors.py); shared/api/domain_errors.py
turns them into problem documents: ``contract-rules`` 422 with every failed rule, ``invalid-transition``
409 with the contract's ``current_state``, ``stale-version`` 412 with its ``current_version``,
``concurrent-update`` 409 (docs/api.md)."""
from __future__ import annotations

from services.contracts.domain.lifecycle import NotNow
from services.contracts.domain.rules import Violation
from services.contracts.domain.state import ContractState
from kernel.errors import Conflict, Refused, Stale


def rules_refused(errors: list[dict]) -> Refused:
    return Refused("contract-rules", "The contract breaks one or more rules", f"{len(errors)} rule(s) failed.",
                   errors=errors)


def broken(violations: list[Violation]) -> Refused:
    return rules_refused([v.as_dict() for v in violations])


def invalid_transition(exc: NotNow, state: ContractState) -> Conflict:
    return Conflict("invalid-transition", "The command does not fit the contract's state", f"{exc.command}: {exc.reason}.",
                    current_state={"status": state.status, "version": state.version,
                                   "needs_transmission": state.needs_transmission, "funding": state.funding})


def stale(expected: int, actual: int) -> Stale:
    return Stale("stale-version", "Precondition failed",
                 f"If-Match names version {expected}; the contract is at version {actual}.", current_version=actual)


def concurrent_update(detail: str) -> Conflict:
    return Conflict("concurrent-update", "Concurrent update", detail)
