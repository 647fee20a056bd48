"""Domain errors (kernel/errors.py) as RFC 9457 problem documents."""
from __future__ import annotations

from fastapi import FastAPI, Request

from kernel.errors import Conflict, DomainError, Forbidden, NotFound, Refused, Stale
from shared.api.problems import Problem, problem_response

STATUS: dict[type[DomainError], int] = {NotFound: 404, Forbidden: 403, Refused: 422, Conflict: 409, Stale: 412}


def as_problem(exc: DomainError) -> Problem:
    status = next((s for kind, s in STATUS.items() if isinstance(exc, kind)), 422)
    return Problem(status, exc.code, exc.title, exc.detail, errors=exc.errors, **exc.extra)


def install_domain_error_handler(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem_response(as_problem(exc), request.url.path)
