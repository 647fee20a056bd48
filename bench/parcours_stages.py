"""Parcours's side of each workload, through the project's own code paths: the store, the sign
command handler, the HTTP API, `ops import-history`, the relay, `ops rebuild`, the live
services and the simulation."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import text

from bench.environment import Database, Services, peak_memory
from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.application.sign import sign_contract
from contract_events.signed import ContractTerms
from services.financing.application.simulate import simulate
from services.financing.domain.inputs import parse_simulation
from operations import rebuild
from operations.import_history import import_file
from operations.projections import FINANCING
from shared.auth import Principal
from shared.db import make_engine
from contract_events.catalogue import VERSIONS
from shared.eventstore.model import NewEvent, StreamAppend
from shared.messaging.relay import OutboxRelay, make_producer
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from shared.settings import Settings

CFA = "0751234J"


def sign_body(i: int, run: str) -> dict[str, Any]:
    """A valid sign request (the terms of a new contract), one apprentice per call."""
    return {"apprentice": {"id": f"bench-{run}-{i}", "birth_date": "2005-03-14"},
            "employer": {"siret": "12345678200010", "idcc": "1486"},
            "cfa": {"uai": CFA, "siret": "98765432400019"},
            "certification": {"rncp": "RNCP35185", "level": 5},
            "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2025-10-03",
            "contract_type": "11"}


async def import_history(db: Database, path: Path) -> tuple[int, float]:
    engine = make_engine(db.settings(""), pool_size=2)
    try:
        started = time.perf_counter()
        report = await import_file(engine, path)
        return report.events, time.perf_counter() - started
    finally:
        await engine.dispose()


async def relay(settings: Settings, batch: int = 5000) -> tuple[int, float]:
    """Publish the whole store to Kafka with the service's relay."""
    await ensure_topics(settings, [CONTRACT_EVENTS])
    engine = make_engine(settings, pool_size=2)
    producer = make_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        started = time.perf_counter()
        n = await OutboxRelay(engine, store, producer, settings.topic(CONTRACT_EVENTS), "/parcours/contracts",
                              batch_size=batch).run_until_idle()
        return n, time.perf_counter() - started
    finally:
        await producer.stop()
        await engine.dispose()


async def rebuild_financing(settings: Settings, source: str, batch: int = 5000) -> tuple[int, float, float | None]:
    """`parcours ops rebuild financing --source kafka|feed` (the rebuild, not the swap)."""
    engine = make_engine(settings, pool_size=2)
    target = rebuild.target_schema(FINANCING)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {target} CASCADE"))
        resume = await rebuild.prepare(engine, FINANCING, target, source)
        with peak_memory() as peak:
            started = time.perf_counter()
            if source == "kafka":
                n = await rebuild.from_kafka(engine, FINANCING, target, settings, resume, lambda *_: None, batch=batch)
            else:
                n = await rebuild.from_feed(engine, FINANCING, target, resume, lambda *_: None, batch=batch)
            elapsed = time.perf_counter() - started
        async with engine.connect() as conn:
            lines = await conn.scalar(text(f"SELECT count(*) FROM {target}.lines"))
        if not lines:
            raise RuntimeError("the rebuild computed no funding line")
        return n, elapsed, peak["mib"]
    finally:
        await engine.dispose()


async def _writers(writers: int, commands: int, one) -> float:
    """``commands`` calls of ``one(i)`` spread over ``writers`` concurrent tasks; seconds."""
    per = commands // writers

    async def work(w: int):
        for i in range(per):
            await one(w * per + i)
    started = time.perf_counter()
    await asyncio.gather(*(work(w) for w in range(writers)))
    return time.perf_counter() - started


async def append(db: Database, writers: int, commands: int, payloads: list[dict]) -> float:
    """Single-event appends (a new stream each) through the contracts store, one transaction each."""
    engine = make_engine(db.settings(""), pool_size=writers)
    try:
        async def one(i: int):
            stream = f"{payloads[i % len(payloads)]['contract_id']}-{writers}-{i}"
            data = {**payloads[i % len(payloads)], "contract_id": stream}
            async with engine.begin() as conn:
                await store.append(conn, [StreamAppend(stream, 0, [NewEvent(
                    "contract.signed", data, schema_version=VERSIONS["contract.signed"],
                    metadata={"partitionkey": data["apprentice"]["id"]})])])
        await one(-1)  # warm the pool
        return await _writers(writers, commands, one)
    finally:
        await engine.dispose()


async def sign_commands(db: Database, writers: int, commands: int, run: str) -> float:
    """The sign command's handler (rules, stream, read model, deadlines), no HTTP."""
    engine = make_engine(db.settings(""), pool_size=writers)
    principal = Principal("bench", "cfa", CFA)
    terms = [ContractTerms.model_validate(sign_body(i, run)) for i in range(commands)]
    try:
        async def one(i: int):
            async with engine.begin() as conn:
                await sign_contract(SqlUnitOfWork.joining(conn), terms[i], principal)
        return await _writers(writers, commands, one)
    finally:
        await engine.dispose()


def _percentiles(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    if not s:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    at = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"p50": at(0.50) * 1000, "p95": at(0.95) * 1000, "p99": at(0.99) * 1000}


def _client(services: Services, key: str, connections: int) -> aiohttp.ClientSession:
    """The load generator's HTTP client: aiohttp, whose per-call CPU is a fraction of httpx's
    (the generator shares the machine's cores with the services it measures)."""
    return aiohttp.ClientSession(base_url=services.url("contracts"), headers={"Authorization": f"Bearer {key}"},
                                 connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=60))


async def _post_sign(client: aiohttp.ClientSession, body: dict) -> tuple[int, dict | None]:
    async with client.post("/v1/contracts", json=body) as r:
        return r.status, (await r.json() if r.status == 201 else None)


async def http_sign(services: Services, key: str, writers: int, commands: int, run: str) -> tuple[float, int]:
    """POST /v1/contracts with a CFA key from ``writers`` concurrent clients; (seconds, errors)."""
    errors = 0
    async with _client(services, key, writers) as client:
        async def one(i: int):
            nonlocal errors
            status, _ = await _post_sign(client, sign_body(i, f"{run}{writers}"))
            errors += status != 201
        await one(-1)
        return await _writers(writers, commands, one), errors


async def live(services: Services, key: str, db: Database, rate: float, seconds: float, run: str,
               connections: int = 64) -> dict:
    """Sign at a fixed rate while the relay and the financing consumer run; times the HTTP call
    and the command-to-projection visibility (until the contract is in financing's tables).

    Open loop: call i is due at ``t0 + i / rate`` whatever happened to the others, and both
    latencies run from that due time, so a saturated service shows as queueing (no coordinated
    omission). At most ``connections`` calls are in flight; the others wait on a semaphore (O(1)),
    not in the client's connection pool."""
    total = int(rate * seconds)
    http: list[float] = []
    pending: dict[str, float] = {}  # contract id -> due time, until financing has it
    visible: list[float] = []
    errors = 0
    done = asyncio.Event()
    last_sent = time.perf_counter()

    async def watch():
        host, port, user, name = db.parts
        conn = await asyncpg.connect(host=host, port=port, user=user, database=name)
        try:
            query = await conn.prepare("SELECT contract_id FROM financing.contracts WHERE contract_id = ANY($1)")
            while not done.is_set() or pending:
                if pending:
                    rows = await query.fetch(list(pending))
                    now = time.perf_counter()
                    for (cid,) in rows:
                        visible.append(now - pending.pop(cid))
                if done.is_set() and time.perf_counter() - last_sent > 30:
                    break  # what is not visible 30 s after the last call is reported as missing
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    slots = asyncio.Semaphore(connections)
    async with _client(services, key, connections) as client:
        async def one(i: int, due: float, record: bool = True):
            nonlocal errors
            async with slots:
                try:
                    status, body = await _post_sign(client, sign_body(i, run))
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    status, body = 0, None
            if not record:
                return
            http.append(time.perf_counter() - due)
            if status == 201:
                pending[body["contract_id"]] = due
            else:
                errors += 1
        await one(-1, time.perf_counter(), record=False)
        watcher = asyncio.create_task(watch())
        t0 = time.perf_counter()
        tasks = []
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load generator, not synchronising a test
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        last_sent = time.perf_counter()
        done.set()
        await watcher
    return {"http": _percentiles(http), "visible": _percentiles(visible), "errors": errors,
            "missing": len(pending), "calls": total, "achieved_rate": total / (last_sent - t0)}


def simulation_request(appends) -> dict:
    events = [{"type": t, "subject": s, "data": d} for a in appends for s, _, evs in a.streams for t, d in evs]
    return {"events": events, "as_of": "2026-06-30"}


def simulate_paths(request: dict) -> tuple[int, float]:
    """`parcours financing simulate`'s work in process: validate the request, compute the funding."""
    raw = json.dumps(request)
    started = time.perf_counter()
    result = simulate(parse_simulation(json.loads(raw)), date(2026, 6, 30))
    elapsed = time.perf_counter() - started
    if not result.get("lines"):
        raise RuntimeError("the simulation computed no funding line")
    return len(request["events"]), elapsed
