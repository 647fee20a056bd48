"""Domain errors become problem documents with the status their kind says."""
import pytest

from kernel.errors import Conflict, DomainError, Forbidden, NotFound, Refused, Stale
from shared.api.domain_errors import as_problem


@pytest.mark.parametrize("exc,status,type_", [
    (NotFound("contract"), 404, "not-found"), (Forbidden("A CFA key signs its own CFA's contracts only.",
                                                           code="foreign-cfa"), 403, "foreign-cfa"),
    (Refused("contract-rules", "The contract breaks one or more rules", errors=[{"field": "x"}]), 422,
     "contract-rules"),
    (Conflict("invalid-transition", "The command does not fit", current_state={"status": "signed"}), 409,
     "invalid-transition"),
    (Stale("stale-version", "Precondition failed", current_version=3), 412, "stale-version")])
def test_each_kind_has_its_status_and_keeps_its_code_and_members(exc: DomainError, status, type_):
    body = as_problem(exc).body()
    assert (body["status"], body["type"]) == (status, f"urn:parcours:problem:{type_}")
    for name, value in exc.extra.items():
        assert body[name] == value
    assert body.get("errors") == exc.errors
