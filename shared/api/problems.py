"""RFC 9457 problem documents: every 4xx and 5xx of every service, with a stable ``type``."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.types import has_control_character

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:parcours:problem:"

_TITLES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
           405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 412: "precondition-failed",
           413: "payload-too-large", 415: "unsupported-media-type", 422: "validation-error",
           428: "precondition-required", 429: "too-many-requests", 500: "internal-error",
           503: "service-unavailable"}


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"},
                       "article": {"type": "string"}}}}},
}
# Documented on every /v1 operation: what an integrator must handle.
ERROR_RESPONSES = {
    status: {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, description in [
        (400, "Malformed header"), (401, "No key, or an unknown or revoked key"),
        (403, "The key's role may not do this"), (404, "No such resource for this key's tenant"),
        (409, "The command does not fit the current state"), (412, "If-Match names a stale version"),
        (413, "Body too large"), (415, "Unsupported content type"), (422, "Invalid request"),
        (429, "Rate limit: retry after Retry-After seconds"), (500, "Unexpected error (logged)"),
        (503, "A dependency (the database) is down: retry after Retry-After seconds")]
}


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str | None = None, *,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                 **extra: Any):
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors, self.headers, self.extra = errors, headers or {}, extra
        super().__init__(f"{status} {code}: {detail or title}")

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": TYPE_BASE + self.code, "title": self.title, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def problem_response(p: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(p.body(instance), status_code=p.status, media_type=PROBLEM_JSON, headers=p.headers)


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "not-found", "Not found", f"No such {what}.")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def _field(loc) -> str:
    """The dotted path of a field; ``body`` and the tags of a tagged union (named ``<...>``, as
    ``<cerfa>``) are left out: the caller knows the fields, not how the API tells shapes apart."""
    parts = [str(p) for p in loc if p != "body" and not str(p).startswith("<")]
    return ".".join(parts) or "body"


def _error(e: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as the API lists it; a control character is named as such whichever
    constraint (a pattern, a custom check) caught it."""
    value = e.get("input")
    if isinstance(value, str) and e.get("type") == "string_pattern_mismatch" and has_control_character(value):
        return {"field": _field(e.get("loc", ())), "code": "control_character",
                "message": "Control characters are not allowed here."}
    return {"field": _field(e.get("loc", ())), "code": e.get("type", "invalid"), "message": e.get("msg", "invalid value")}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [_error(e) for e in exc.errors()]
        p = Problem(422, "validation-error", "The request is not valid", "See errors.", errors=errors)
        return problem_response(p, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _TITLES.get(exc.status_code, "http-error")
        p = Problem(exc.status_code, code, code.replace("-", " ").capitalize(),
                    exc.detail if isinstance(exc.detail, str) else None, headers=getattr(exc, "headers", None))
        return problem_response(p, request.url.path)
