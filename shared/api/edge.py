"""The edge of every service, as pure ASGI middleware: what is refused before any handler runs
(bodies over the limit whatever their framing, other content types, control characters in the
path or the query), what an exception becomes (503 for a dependency down, 500 otherwise, never a
closed connection or a second traceback), and the latency metric."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api.problems import Problem, problem_response
from shared.observability import REQUEST_LATENCY
from shared.outage import RETRY_AFTER_SECONDS, is_unavailable, is_unstorable_text, outage_log
from shared.types import has_control_character

log = structlog.get_logger("api")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` as soon as the bytes received pass the limit: FastAPI lets an
    HTTPException through its body parsing, and the problem handler answers 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"Bodies are limited to {limit} bytes.")
        self.limit = limit


def too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Payload too large", f"Bodies are limited to {limit} bytes.")


def unavailable() -> Problem:
    return Problem(503, "service-unavailable", "Service unavailable",
                   "A dependency of this service is down; retry after the delay given.",
                   headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _is_json(ctype: str) -> bool:
    main = ctype.split(";")[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


class Edge:
    def __init__(self, app: ASGIApp, *, service: str, max_body: int, max_upload: int,
                 uploads: dict[str, set[str]]):
        self.app, self.service, self.max_body, self.max_upload = app, service, max_body, max_upload
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await problem_response(refusal, scope["path"])(scope, receive, sending)
                return
            if scope["method"] in _BODY_METHODS:
                receive = self._bounded(receive, self._limit(scope))
            try:
                await self.app(scope, receive, sending)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a problem document
                if status[0]:
                    raise  # the response has begun: nothing better can be sent
                await problem_response(self._problem_for(exc, scope), scope["path"])(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_LATENCY.labels(self.service, scope["method"], route, status[0] or 500) \
                .observe(time.perf_counter() - started)

    def _limit(self, scope: Scope) -> int:
        return self.max_upload if self.uploads.get(scope["path"]) else self.max_body

    def _refusal(self, scope: Scope) -> Problem | None:
        if has_control_character(scope["path"]):
            return Problem(404, "not-found", "Not found", "No such resource.")
        query = scope.get("query_string", b"").decode("latin-1")
        bad = sorted({name for name, value in parse_qsl(query, keep_blank_values=True)
                      if has_control_character(name) or has_control_character(value)})
        if bad:
            return Problem(422, "validation-error", "The request is not valid", "See errors.", errors=[
                {"field": f"query.{name!r}"[:80] if has_control_character(name) else f"query.{name}",
                 "code": "control_character", "message": "Control characters are not allowed."}
                for name in bad])
        if scope["method"] not in _BODY_METHODS:
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length, chunked = headers.get("content-length"), "transfer-encoding" in headers
        if length and length.isdigit() and int(length) > self._limit(scope):
            return too_large(self._limit(scope))
        ctype = headers.get("content-type", "")
        upload_types = self.uploads.get(scope["path"], set())
        if (chunked or length not in (None, "0")) and not _is_json(ctype) \
                and ctype.split(";")[0].strip().lower() not in upload_types:
            return Problem(415, "unsupported-media-type", "Unsupported media type", "Send application/json.")
        return None

    @staticmethod
    def _bounded(receive: Receive, limit: int) -> Receive:
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message
        return bounded

    def _problem_for(self, exc: Exception, scope: Scope) -> Problem:
        if isinstance(exc, BodyTooLarge):
            return too_large(exc.limit)
        if is_unavailable(exc):
            outage_log.failed("api.dependency_unavailable", exc, path=scope["path"], service=self.service)
            return unavailable()
        if is_unstorable_text(exc):
            return Problem(422, "validation-error", "The request is not valid", "See errors.", errors=[
                {"field": "body", "code": "control_character", "message": "Control characters are not allowed."}])
        log.error("api.unexpected_error", path=scope["path"], exc_info=exc)
        return Problem(500, "internal-error", "Internal error", "The error was logged; retry later.")
