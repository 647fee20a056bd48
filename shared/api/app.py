"""The FastAPI application every service is built from: lifespan (engine, background workers),
problem documents, request limits, health, metrics and JSON logs."""
from __future__ import annotations

import asyncio
import gc
import weakref
from contextlib import asynccontextmanager
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared.api.domain_errors import install_domain_error_handler
from shared.api.edge import Edge
from shared.api.key_lookups import KeyLookups, SharedLimit
from shared.api.problems import ERROR_RESPONSES, Problem, install_problem_handlers
from shared.api.ratelimit import RateLimiter
from shared.db import asyncpg_dsn, make_engine
from shared.observability import (CONSUMER_LAG, DEPENDENCY_UP, OUTBOX_BACKLOG, configure_logging,
                                  forget_this_process, metrics_registry)
from shared.outage import is_unavailable, outage_log
from shared.settings import Settings

Worker = Callable[[FastAPI, asyncio.Event], Awaitable[None]]
log = structlog.get_logger("app")


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
        lookups = app.state.key_lookups = key_lookups(service, settings)
        tasks = [asyncio.create_task(lookups.run(stop), name="key_lookups")]
        if settings.run_workers:
            tasks += [asyncio.create_task(_supervise(w, app, stop), name=getattr(w, "__name__", "worker"))
                      for w in workers]
        await lookups.opened(timeout=5.0)
        app.state.stop = stop
        _collector_serving(True)
        log.info("service.started", service=service)
        try:
            yield
        finally:
            _collector_serving(False)
            stop.set()
            for t in tasks:
                try:
                    await asyncio.wait_for(t, 10)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    t.cancel()
            await app.state.engine.dispose()
            forget_this_process()

    app = FastAPI(title=f"Parcours {service}", version="1.0.0", lifespan=lifespan, description=description)
    app.state.service = service
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    install_problem_handlers(app)
    install_domain_error_handler(app)

    app.add_middleware(Edge, service=service, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes, uploads=uploads)

    health = APIRouter(tags=["health"])

    @health.get("/health/live")
    async def live():
        return {"status": "ok"}

    @health.get("/health/ready")
    async def ready(request: Request):
        """Can this service serve its API? Only its database decides: without the broker the log
        keeps the events until the relay and the consumers catch up (see /health)."""
        checks = await _dependencies(request.app, settings, kafka=False)
        ok = checks["database"] == "ok"
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @health.get("/health")
    async def details(request: Request):
        """Ready or not, and what is degraded: the broker, the relay's backlog, the consumers' lag."""
        checks = await _dependencies(request.app, settings)
        registry = metrics_registry()
        backlog = {**_samples(registry, OUTBOX_BACKLOG, settings.topic_prefix, "topic"),
                   **_samples(registry, CONSUMER_LAG, settings.topic_prefix, "consumer", "topic", "partition")}
        status = "unavailable" if checks["database"] != "ok" else \
            "degraded" if checks["kafka"] != "ok" or any(backlog.values()) else "ok"
        return JSONResponse({"status": status, "checks": checks, "backlog": backlog},
                            status_code=503 if status == "unavailable" else 200)

    @health.get("/metrics", include_in_schema=False)
    async def metrics(request: Request):
        await _dependencies(request.app, settings)
        return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    for r in routers:
        app.include_router(r, responses=ERROR_RESPONSES, dependencies=[Depends(reject_unknown_query)])
    return app


# The cyclic garbage collector while a service serves: what start-up made (modules, models,
# tables: most of the heap) frozen out of every collection, and a young generation collected after
# 20,000 net allocations instead of 700. Requests free almost everything they allocate by
# reference counting, so the default threshold ran a collection every ten or so signs, each
# scanning whatever was in flight (~0.5 ms, ~5 % of the contracts service's CPU with the older
# generations'); a full collection walked the whole start-up heap (100-400 ms pauses, the live
# stage's p99). Now a collection every few thousand requests, and full ones only over what was
# allocated since start-up.
SERVING_THRESHOLDS = (20_000, 20, 20)
_serving = {"apps": 0, "thresholds": None}


def _collector_serving(starting: bool) -> None:
    """Called as each app starts and stops serving: the first to start freezes the heap and sets
    ``SERVING_THRESHOLDS``; the last to stop (tests run several apps in one process) unfreezes it
    and puts the thresholds back."""
    if starting:
        _serving["apps"] += 1
        if _serving["apps"] == 1:
            _serving["thresholds"] = gc.get_threshold()
            gc.collect()
            gc.freeze()
            gc.set_threshold(*SERVING_THRESHOLDS)
    else:
        _serving["apps"] -= 1
        if _serving["apps"] == 0:
            gc.set_threshold(*_serving["thresholds"])
            gc.unfreeze()


def key_lookups(service: str, settings: Settings) -> KeyLookups:
    """The process's key lookups; with several HTTP workers they also spend the shared rate buckets."""
    shared = SharedLimit(service, settings.rate_limit_per_second, settings.rate_limit_burst) \
        if settings.http_workers > 1 else None
    return KeyLookups(asyncpg_dsn(settings.database_url), shared_limit=shared, timeout=settings.statement_timeout_ms / 1000)


async def reject_unknown_query(request: Request) -> None:
    """Unknown query parameters are refused (422), like unknown body fields."""
    if not request.scope.get("query_string"):   # most calls: nothing to parse or compare
        return
    unknown = sorted(set(request.query_params) - _known_query(request.scope.get("route")))
    if unknown:
        raise Problem(422, "validation-error", "The request is not valid", "Unknown query parameter(s).",
                      errors=[{"field": f"query.{name}", "code": "unknown_parameter",
                               "message": "This parameter is not part of the API."} for name in unknown])


_KNOWN_QUERY: dict[int, tuple[weakref.ref, frozenset[str]]] = {}   # id(route) -> (route, its query parameters)


def _known_query(route) -> frozenset[str]:
    """The query parameters a route declares (its own and its dependencies'), computed once per
    route (a route is not hashable: keyed by id, checked by identity)."""
    cached = _KNOWN_QUERY.get(id(route))
    if cached is not None and cached[0]() is route:
        return cached[1]
    dependant = getattr(route, "dependant", None)
    names = {p.alias for p in getattr(dependant, "query_params", [])}
    for sub in getattr(dependant, "dependencies", []):
        names |= {p.alias for p in sub.query_params}
    known = frozenset(names)
    try:
        _KNOWN_QUERY[id(route)] = (weakref.ref(route), known)
    except TypeError:   # no route (None), nothing to keep
        pass
    return known


async def _dependencies(app: FastAPI, settings: Settings, kafka: bool = True) -> dict[str, str]:
    checks = {"database": "ok", "kafka": "ok"} if kafka else {"database": "ok"}
    try:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means the database cannot serve
        checks["database"] = "unreachable"
    if kafka and not await _kafka_reachable(settings.kafka_bootstrap):
        checks["kafka"] = "unreachable"
    for dependency, state in checks.items():
        DEPENDENCY_UP.labels(app.state.service, dependency).set(1 if state == "ok" else 0)
    return checks


def _samples(registry, gauge, topic_prefix: str, *labels: str) -> dict[str, float]:
    """The gauge's current values (every worker's, see metrics_registry) for this service's topics,
    keyed by labels."""
    name = gauge._name
    return {"/".join(s.labels[label] for label in labels): s.value
            for metric in registry.collect() if metric.name == name
            for s in metric.samples if s.name == name and s.labels.get("topic", "").startswith(topic_prefix)}


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
        except Exception as exc:  # noqa: BLE001 - a worker is restarted whatever stopped it
            name = getattr(worker, "__name__", "worker")
            if is_unavailable(exc):
                outage_log.failed("worker.dependency_unavailable", exc, worker=name)
            else:
                log.exception("worker.failed", worker=name)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
