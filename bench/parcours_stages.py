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

from bench.cpu_accounting import POLL, Meter, Usage
from bench.environment import Database, Services, peak_memory
from services.contracts.adapters.contract_streams import store
from services.contracts.adapters.contracts_relay import contracts_relay
from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.application.sign import sign_contract
from contract_events.signed import ContractTerms
from services.financing.application.simulate import simulate_json
from operations import rebuild
from operations.import_history import import_file
from operations.projections import FINANCING
from shared.auth import Principal
from shared.db import UnitConnection, make_engine
from contract_events.catalogue import VERSIONS
from shared.eventstore.chain import Break, verify_chain
from shared.eventstore.model import NewEvent, StreamAppend
from shared.messaging.relay import make_producer
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


async def import_history(db: Database, path: Path) -> tuple[int, float, int]:
    """`parcours ops import-history`, timed; then `ops verify-chain`'s check of the contracts
    store, not timed: (events, seconds, breaks in the chain)."""
    engine = make_engine(db.settings(""), pool_size=2)
    try:
        started = time.perf_counter()
        report = await import_file(engine, path)
        seconds = time.perf_counter() - started
        breaks = 0
        async with engine.connect() as conn:
            async for item in verify_chain(conn, "contracts"):
                breaks += isinstance(item, Break)
        return report.events, seconds, breaks
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
        # the service's relay: the public data only (the personal fields stay in the store)
        n = await contracts_relay(engine, producer, settings, batch_size=batch).run_until_idle()
        seconds = time.perf_counter() - started
        if not n:   # the gap-free read waited in vain: say which transaction of this database held it back
            async with engine.connect() as conn:
                held = (await conn.execute(text(
                    "SELECT pid, datname, application_name, state, now() - xact_start AS age, left(query, 200) "
                    "FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database() "
                    "ORDER BY xact_start LIMIT 5"))).all()
            raise RuntimeError(f"the relay published nothing; this database's open transactions: {held}")
        return n, seconds
    finally:
        await producer.stop()
        await engine.dispose()


async def rebuild_financing(settings: Settings, source: str, batch: int = 5000,
                            workers: int = 1) -> tuple[int, float, float | None]:
    """`parcours ops rebuild financing --source kafka|feed --workers N` (the rebuild, not the swap)."""
    engine = make_engine(settings, pool_size=2)
    target = rebuild.target_schema(FINANCING)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {target} CASCADE"))
        resume = await rebuild.prepare(engine, FINANCING, target, source)
        stats: dict = {}
        with peak_memory() as peak:
            started = time.perf_counter()
            if source == "kafka":
                n = await rebuild.from_kafka(engine, FINANCING, target, settings, resume, lambda *_: None, batch=batch,
                                             workers=workers, stats=stats)
            else:
                n = await rebuild.from_feed(engine, FINANCING, target, resume, lambda *_: None, batch=batch,
                                            workers=workers, stats=stats)
            elapsed = time.perf_counter() - started
        async with engine.connect() as conn:
            lines = await conn.scalar(text(f"SELECT count(*) FROM {target}.lines"))
        if not lines:
            raise RuntimeError("the rebuild computed no funding line")
        # peak of the whole rebuild: this process, and its path workers (--workers > 1) each at its peak
        return n, elapsed, (peak["mib"] or 0) + (stats.get("workers_peak_mib") or 0)
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
    """Single-event appends (a new stream each) through the contracts store, one transaction each,
    as a command's unit of work makes its last write (shared.sql_unit_of_work, ContractStreams.record
    with ``last``): on the unit's own connection, the append's statement is its transaction."""
    engine = make_engine(db.settings(""), pool_size=writers)
    try:
        async def one(i: int):
            stream = f"{payloads[i % len(payloads)]['contract_id']}-{writers}-{i}"
            data = {**payloads[i % len(payloads)], "contract_id": stream}
            conn = await UnitConnection.open(engine)
            try:
                await store.append(conn, [StreamAppend(stream, 0, [NewEvent(
                    "contract.signed", data, schema_version=VERSIONS["contract.signed"],
                    metadata={"partitionkey": data["apprentice"]["id"]})])], outside=True)
                await conn.commit_transaction()   # none open: nothing to send
            finally:
                await conn.release()
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


async def http_sign(services: Services, key: str, writers: int, commands: int, run: str,
                    meter: Meter | None = None) -> tuple[float, int, Usage | None]:
    """POST /v1/contracts with a CFA key from ``writers`` concurrent clients; (seconds, errors, the
    CPU the machine's processes spent on the timed calls when a ``meter`` is given)."""
    errors = 0
    async with _client(services, key, writers) as client:
        async def one(i: int):
            nonlocal errors
            status, _ = await _post_sign(client, sign_body(i, f"{run}{writers}"))
            errors += status != 201
        await one(-1)
        before = meter.sample() if meter else None   # outside the timed calls, after the warm-up call
        seconds = await _writers(writers, commands, one)
        return seconds, errors, meter.between(before, meter.sample()) if meter else None


async def live(services: Services, key: str, db: Database, rate: float, seconds: float, run: str,
               connections: int = 64, meter: Meter | None = None) -> dict:
    """Sign at a fixed rate while the relay and the financing consumer run; times the HTTP call
    and the command-to-projection visibility (until the contract is in financing's tables).

    Open loop: call i is due at ``t0 + i / rate`` whatever happened to the others, and both
    latencies run from that due time, so a saturated service shows as queueing (no coordinated
    omission). At most ``connections`` calls are in flight; the others wait on a semaphore (O(1)),
    not in the client's connection pool.

    With a ``meter``: the CPU of the machine's processes from the first call until the last is
    visible in financing (``cpu``: all the work of the calls), and while the calls are sent
    (``cpu_sending``: the load that makes the queueing)."""
    total = int(rate * seconds)
    http: list[float] = []
    pending: dict[str, float] = {}  # contract id -> due time, until financing has it
    visible: list[float] = []
    errors = 0
    done = asyncio.Event()
    last_sent = time.perf_counter()
    drained: list = []

    async def watch(conn: asyncpg.Connection):
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
            # sampled while the poll's backend lives: once ended, its CPU is its postmaster's
            drained.append(meter.sample() if meter else None)
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
        host, port, user, name = db.parts
        poll = await asyncpg.connect(host=host, port=port, user=user, database=name)
        if meter:   # the poll's backend a group of its own: the benchmark's work, not the services'
            meter.processes = {**meter.processes, POLL: [poll.get_server_pid()]}
        watcher = asyncio.create_task(watch(poll))
        before = meter.sample() if meter else None
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
        sent = meter.sample() if meter else None
        done.set()
        await watcher
    return {"http": _percentiles(http), "visible": _percentiles(visible), "errors": errors,
            "missing": len(pending), "calls": total, "achieved_rate": total / (last_sent - t0),
            "cpu": meter.between(before, drained[0]) if meter else None,
            "cpu_sending": meter.between(before, sent) if meter else None}


def simulation_request(appends) -> dict:
    events = [{"type": t, "subject": s, "data": d} for a in appends for s, _, evs in a.streams for t, d in evs]
    return {"events": events, "as_of": "2026-06-30"}


def simulate_paths(request: dict) -> tuple[int, float]:
    """`parcours financing simulate`'s work in process: validate the request, compute the funding."""
    raw = json.dumps(request)
    started = time.perf_counter()
    result = simulate_json(raw, date(2026, 6, 30))
    elapsed = time.perf_counter() - started
    if not result.get("lines"):
        raise RuntimeError("the simulation computed no funding line")
    return len(request["events"]), elapsed


# -- the money loop through HTTP: invoices issued, accepted, paid -----------------------------------
MONEY_OPCO = "ATLAS"  # the OPCO of the sign body's employer (IDCC 1486)
MONEY_ADVANCES_PER_CONTRACT = 6  # a two-year R2019 contract: three advances per funding year


def money_cfas(count: int) -> list[str]:
    """``count`` valid UAIs (7 digits and their check letter) of CFAs no other stage signs for."""
    from services.contracts.domain.identifiers import uai_check_letter
    return [f"{n:07d}{uai_check_letter(f'{n:07d}')}" for n in range(930_0001, 930_0001 + count)]


def money_sign_body(i: int, run: str, cfa: str) -> dict[str, Any]:
    """A two-year contract long past (R2019): every advance of both funding years is due today."""
    return {**sign_body(i, run), "apprentice": {"id": f"bench-money-{run}-{i}", "birth_date": "2005-03-14"},
            "cfa": {"uai": cfa, "siret": "98765432400019"},
            "signed_on": "2023-08-28", "start_date": "2023-09-04", "planned_end_date": "2025-09-03"}


async def _timed_calls(items: list, clients: int, call) -> tuple[float, list[float], list[Any]]:
    """``call(item)`` for every item from ``clients`` concurrent tasks taking the next item from a
    shared queue (closed loop); (seconds, latencies in s, the answers in the items' order)."""
    latencies: list[float] = []
    answers: list[Any] = [None] * len(items)
    cursor = iter(range(len(items)))

    async def work():
        for n in cursor:
            t = time.perf_counter()
            answers[n] = await call(items[n])
            latencies.append(time.perf_counter() - t)
    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(clients)))
    return time.perf_counter() - started, latencies, answers


MONEY_FAILURES: list[str] = []  # the first refusals of the money stage, for its error report


async def _post(session: aiohttp.ClientSession, path: str, key: str, body: dict, expect: int) -> dict | None:
    """The answer's JSON, or None (the first few refusals kept in MONEY_FAILURES)."""
    try:
        async with session.post(path, json=body, headers={"Authorization": f"Bearer {key}"}) as r:
            if r.status == expect:
                return await r.json()
            failure = f"{path}: {r.status} {(await r.text())[:300]}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        failure = f"{path}: {exc!r}"
    if len(MONEY_FAILURES) < 5:
        MONEY_FAILURES.append(failure)
    return None


def _session(base: str, connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=base, connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=120))


async def money_keys(db: Database, cfas: list[str]) -> tuple[dict[str, str], str]:
    """A CFA key per CFA and an OPCO key (shared.auth.create_key), on the services' database."""
    from shared.auth import create_key
    engine = make_engine(db.settings(""), pool_size=1)
    try:
        async with engine.begin() as conn:
            keys = {cfa: (await create_key(conn, "cfa", cfa, "bench"))[1] for cfa in cfas}
            _, opco = await create_key(conn, "opco", MONEY_OPCO, "bench")
        return keys, opco
    finally:
        await engine.dispose()


async def money_setup(services: Services, cfa_keys: dict[str, str], opco_key: str, contracts: int, clients: int,
                      run: str, timeout: float = 300) -> dict[str, list[dict]]:
    """Sign ``contracts`` contracts spread over the CFAs through HTTP, transmit and accept them, then
    poll each CFA's GET /v1/financing/invoiceable until the financing projection has the advances
    of every one of them. Returns each CFA's invoiceable advances."""
    cfas = list(cfa_keys)
    async with _session(services.url("contracts"), clients) as c:
        async def contract(i: int) -> str | None:
            cfa = cfas[i % len(cfas)]
            signed = await _post(c, "/v1/contracts", cfa_keys[cfa], money_sign_body(i, run, cfa), 201)
            if signed is None:
                return None
            cid = signed["contract_id"]
            if await _post(c, f"/v1/contracts/{cid}/transmission", cfa_keys[cfa],
                           {"transmitted_on": "2023-09-05", "by": "cfa"}, 200) is None:
                return None
            if await _post(c, f"/v1/contracts/{cid}/decision", opco_key, {
                    "outcome": "accepted", "decided_on": "2023-09-20", "annual_funding_level": "8000.00"}, 200) is None:
                return None
            return cid
        _, _, made = await _timed_calls(list(range(contracts)), clients, contract)
    if None in made:
        raise RuntimeError(f"{made.count(None)} of {contracts} contracts could not be signed, transmitted and "
                           f"accepted: {'; '.join(MONEY_FAILURES)}")
    wanted = {cfa: {cid for i, cid in enumerate(made) if cfas[i % len(cfas)] == cfa} for cfa in cfas}
    advances: dict[str, list[dict]] = {}
    deadline = time.monotonic() + timeout
    async with _session(services.url("financing"), 4) as f:
        while len(advances) < len(cfas):
            for cfa in [c for c in cfas if c not in advances]:
                async with f.get("/v1/financing/invoiceable", params={"opco": MONEY_OPCO},
                                 headers={"Authorization": f"Bearer {cfa_keys[cfa]}"}) as r:
                    body = await r.json() if r.status == 200 else {"invoiceable": []}
                ready = [a for entry in body["invoiceable"] for a in entry["advances"]]
                if wanted[cfa] <= {a["contract_id"] for a in ready}:
                    advances[cfa] = [a for a in ready if a["contract_id"] in wanted[cfa]]
            if len(advances) < len(cfas):
                if time.monotonic() > deadline:
                    raise RuntimeError("the financing projection did not compute the contracts' advances in time")
                await asyncio.sleep(0.1)  # polling the projection until it has caught up
    return advances


def _invoice_body(a: dict) -> dict:
    return {"opco": MONEY_OPCO, "lines": [{"contract_id": a["contract_id"], "funding_year": a["funding_year"],
                                           "advance": a["advance"]}],
            "certificates": [{"kind": kind, "scope": "final" if kind == "completion_attestation" else "intermediate",
                              "contract_id": a["contract_id"], "funding_year": a["funding_year"],
                              "advance": a["advance"], "period_start": "2023-09-04", "period_end": a["due_on"],
                              "hours": "120",
                              "reference": f"CR-{a['contract_id'][:8]}-{a['funding_year']}-{a['advance']}"}
                             for kind in a["certificates_needed"]]}


async def http_money(services: Services, cfa_keys: dict[str, str], opco_key: str, advances: dict[str, list[dict]],
                     clients: int, invoices: int, run: str) -> dict[str, dict]:
    """``invoices`` advances, taken in turn from each CFA's, each invoiced alone (CFA key), every
    invoice accepted (OPCO key), then paid in full by one payment (OPCO key); ``clients``
    concurrent clients in a closed loop for each of the three. Per step: calls, seconds, errors,
    latency percentiles."""
    queues = [list(a) for a in advances.values()]
    cfa_of = {id(a): cfa for cfa, items in advances.items() for a in items}
    todo: list[dict] = []
    while len(todo) < invoices and any(queues):
        for q in queues:
            if q and len(todo) < invoices:
                todo.append(q.pop(0))
    today = date.today().isoformat()
    out: dict[str, dict] = {}

    def step(name: str, timed: tuple[float, list[float], list]) -> list:
        seconds, latencies, answers = timed
        out[name] = {"calls": len(answers), "seconds": seconds, "errors": answers.count(None),
                     **_percentiles(latencies)}
        return [a for a in answers if a is not None]

    async with _session(services.url("financing"), clients) as f:
        async def issue(a: dict):
            return await _post(f, "/v1/financing/invoices", cfa_keys[cfa_of[id(a)]], _invoice_body(a), 201)

        async def accept(invoice: dict):
            return await _post(f, f"/v1/financing/invoices/{invoice['invoice_id']}/acceptance", opco_key, {}, 200)

        async def pay(invoice: dict):
            return await _post(f, "/v1/financing/payments", opco_key, {
                "cfa_uai": invoice["cfa_uai"], "amount": invoice["total"], "paid_on": today,
                "bank_reference": f"VIR-{run}-{invoice['number']}",
                "allocations": [{"invoice_id": invoice["invoice_id"], "amount": invoice["total"]}]}, 201)

        for key in cfa_keys.values():  # the routes and the key lookups warmed
            async with f.get("/v1/financing/invoices", params={"limit": 1},
                             headers={"Authorization": f"Bearer {key}"}) as r:
                await r.read()
        issued = step("issue", await _timed_calls(todo, clients, issue))
        accepted = step("accept", await _timed_calls(issued, clients, accept))
        step("pay", await _timed_calls(accepted, clients, pay))
    return out
