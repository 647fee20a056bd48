"""The FastAPI application every service is built from: lifespan (engine, background workers),
problem documents, request limits, health, metrics and JSON logs."""
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared.api.problems import ERROR_RESPONSES, Problem, install_problem_handlers, problem_response
from shared.api.ratelimit import RateLimiter
from shared.db import make_engine
from shared.observability import REQUEST_LATENCY, configure_logging
from shared.settings import Settings

Worker = Callable[[FastAPI, asyncio.Event], Awaitable[None]]
log = structlog.get_logger("app")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def build_app(service: str, settings: Settings, routers: list[APIRouter], *,
              workers: list[Worker] = (), on_startup: list[Callable[[FastAPI], Awaitable[None]]] = (),
              description: str = "", uploads: dict[str, set[str]] | None = None) -> FastAPI:
    """``uploads``: paths that also take the named content types (files), up to max_upload_bytes."""
    uploads = uploads or {}
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.engine = make_engine(settings)
        for hook in on_startup:
            await hook(app)
        stop = asyncio.Event()
        tasks = []
        if settings.run_workers:
            tasks = [asyncio.create_task(_supervise(w, app, stop), name=getattr(w, "__name__", "worker"))
                     for w in workers]
        app.state.stop = stop
        log.info("service.started", service=service)
        try:
            yield
        finally:
            stop.set()
            for t in tasks:
                try:
                    await asyncio.wait_for(t, 10)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    t.cancel()
            await app.state.engine.dispose()

    app = FastAPI(title=f"Parcours {service}", version="1.0.0", lifespan=lifespan, description=description)
    app.state.service = service
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    install_problem_handlers(app)

    @app.middleware("http")
    async def limits_and_metrics(request: Request, call_next):
        started = time.perf_counter()
        if request.method in _BODY_METHODS:
            length = request.headers.get("content-length")
            upload_types = uploads.get(request.url.path, set())
            limit = settings.max_upload_bytes if upload_types else settings.max_body_bytes
            if length and length.isdigit() and int(length) > limit:
                return problem_response(Problem(413, "payload-too-large", "Payload too large",
                                                f"Bodies are limited to {limit} bytes."))
            ctype = request.headers.get("content-type", "")
            if (length not in (None, "0")) and not _is_json(ctype) \
                    and ctype.split(";")[0].strip().lower() not in upload_types:
                return problem_response(Problem(415, "unsupported-media-type", "Unsupported media type",
                                                "Send application/json."))
        response = await call_next(request)
        route = request.scope.get("route")
        REQUEST_LATENCY.labels(service, request.method, getattr(route, "path", "unmatched"),
                               response.status_code).observe(time.perf_counter() - started)
        return response

    health = APIRouter(tags=["health"])

    @health.get("/health/live")
    async def live():
        return {"status": "ok"}

    @health.get("/health/ready")
    async def ready(request: Request):
        checks = {"database": "ok", "kafka": "ok"}
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            checks["database"] = "unreachable"
        if not await _kafka_reachable(settings.kafka_bootstrap):
            checks["kafka"] = "unreachable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @health.get("/metrics", include_in_schema=False)
    async def metrics():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    for r in routers:
        app.include_router(r, responses=ERROR_RESPONSES, dependencies=[Depends(reject_unknown_query)])
    return app


async def reject_unknown_query(request: Request) -> None:
    """Unknown query parameters are refused (422), like unknown body fields."""
    route = request.scope.get("route")
    known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
    for sub in getattr(getattr(route, "dependant", None), "dependencies", []):
        known |= {p.alias for p in sub.query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise Problem(422, "validation-error", "The request is not valid", "Unknown query parameter(s).",
                      errors=[{"field": f"query.{name}", "code": "unknown_parameter",
                               "message": "This parameter is not part of the API."} for name in unknown])


def _is_json(ctype: str) -> bool:
    main = ctype.split(";")[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


async def _kafka_reachable(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        parts = urlsplit(f"//{server.strip()}")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 9092), 1.0)
            writer.close()
            return True
        except (OSError, asyncio.TimeoutError):
            continue
    return False


async def _supervise(worker: Worker, app: FastAPI, stop: asyncio.Event) -> None:
    """Keep a background worker running: restart it after a failure until the app stops."""
    while not stop.is_set():
        try:
            await worker(app, stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker.failed", worker=getattr(worker, "__name__", "worker"))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
