"""Errors the domain and the application raise, free of HTTP: each kind says what went wrong,
the API edge (shared/api/domain_errors.py) says which status and problem document it becomes.

``code`` is stable (it becomes the problem's ``type``: ``urn:parcours:problem:<code>``);
``errors`` lists every failed rule (field, code, message, article); ``extra`` carries the
members an integrator needs (``current_state``, ``current_version``, ...)."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, code: str, title: str, detail: str | None = None, *,
                 errors: list[dict[str, Any]] | None = None, **extra: Any):
        self.code, self.title, self.detail, self.errors, self.extra = code, title, detail, errors, extra
        super().__init__(f"{code}: {detail or title}")


class NotFound(DomainError):
    """No such resource for this tenant (another tenant's resource is not found either)."""

    def __init__(self, what: str = "resource"):
        super().__init__("not-found", "Not found", f"No such {what}.")


class Forbidden(DomainError):
    """The caller's role or organisation may not do this."""

    def __init__(self, detail: str, code: str = "forbidden"):
        super().__init__(code, "Forbidden", detail)


class Refused(DomainError):
    """The request is understood but breaks rules: every failed rule is listed."""


class Conflict(DomainError):
    """The command does not fit the current state, or a concurrent change won."""


class Stale(DomainError):
    """The caller acted on a version that is no longer current."""


def check_version(what: str, if_match: int | None, current: int) -> None:
    """An If-Match naming another version than the current one is refused (412 with
    ``current_version``); no If-Match, no check."""
    if if_match is not None and if_match != current:
        raise Stale("precondition-failed", f"The {what} changed",
                    f"If-Match names version {if_match}; the {what} is at version {current}.",
                    current_version=current)
