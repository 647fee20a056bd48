"""`make bench`: generate a history, run every workload on Parcours and on the peer in the same
run on the same PostgreSQL, measure the machine's ceilings, print one table."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Console

from bench import limits, parcours_stages as ours
from bench.cpu_accounting import Meter
from bench.environment import Database, Services, create_database, drop_database, drop_topics
from bench.report import Figure, render, save
from operations.demo import load_reference_data
from operations.history_generator import generate
from operations.history_file import write
from operations.projections import FINANCING
from operations.rebuild import topic_partitions
from shared.auth import create_key
from shared.db import make_engine
from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics
from shared.settings import REPO_ROOT, get_settings

OUT = REPO_ROOT / ".data" / "bench"
STAGES = ("import", "relay", "rebuild-kafka", "rebuild-feed", "append", "sign", "http", "live", "money",
          "simulate")
console = Console(width=200, stderr=True)


def note(message: str) -> None:
    console.print(f"[dim]{datetime.now():%H:%M:%S}[/dim] {message}")


@contextlib.contextmanager
def profiled(stage: str, wanted: str | None):
    """pyinstrument around one stage when asked (``--profile STAGE``): HTML and text in .data/bench."""
    if stage != wanted:
        yield
        return
    from pyinstrument import Profiler
    profiler = Profiler(async_mode="enabled", interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"profile-{stage}.html").write_text(profiler.output_html())
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        (OUT / f"profile-{stage}.txt").write_text(text)
        note(f"profile of {stage}: {OUT / f'profile-{stage}.txt'} (and .html)")


async def _main(o: dict) -> list[Figure]:
    figures: list[Figure] = []
    run = secrets.token_hex(3)
    prefix = f"bench{run}."
    settings = get_settings()
    OUT.mkdir(parents=True, exist_ok=True)
    history = OUT / f"history-{o['contracts']}-{o['seed']}.jsonl"
    if not history.exists():
        note(f"generating {o['contracts']:,} contracts into {history}")
        started = time.perf_counter()
        events = write(history, o["contracts"], o["seed"])
        note(f"  {events:,} events in {time.perf_counter() - started:.1f} s")
    peer_env = None
    db = await create_database("main")
    o["databases"].append(db.parts[3])
    live_db: Database | None = None
    services: Services | None = None
    try:
        async with _engine(db) as engine:
            await load_reference_data(engine)
        if o["peer"]:
            from bench import peer
            host, port, user, name = db.parts
            peer_env = peer.environment(host, port, user, name, 4)
            await _sql(db, f"CREATE SCHEMA {peer.SCHEMA}")
        main_settings = db.settings(prefix)

        wanted = o["stages"]
        note("bulk import: raw COPY ceiling, `ops import-history`, the peer's batched saves")
        n, s = await limits.raw_copy(db, history)
        ceiling = n / s
        with profiled("import", o["profile"]):
            events, seconds, breaks = await ours.import_history(db, history)
        peer_rate = None
        if peer_env:
            n, s = await asyncio.to_thread(peer.load_history, peer_env, generate(o["contracts"], o["seed"]))
            peer_rate = n / s
        chain = "chain verified" if not breaks else f"{breaks:,} BREAKS in the chain"
        figures.append(Figure("bulk import of the history", "events/s", events / seconds, peer_rate, ceiling,
                              "raw COPY, no index", ">= 100,000, chain verifying",
                              events / seconds >= 100_000 and not breaks, detail=f"{events:,} events, {chain}"))

        note("relay: store to Kafka; Kafka's ProducerPerformance as the ceiling")
        with profiled("relay", o["profile"]):
            n, s = await ours.relay(main_settings)
        size = max(100, history.stat().st_size // max(1, events))
        await ensure_topics(main_settings, ["perf"])  # the broker does not create topics on first use
        ceiling = await asyncio.to_thread(limits.kafka_producer_perf, settings.kafka_bootstrap,
                                          f"{prefix}perf", min(n, 500_000), size)
        figures.append(Figure("relay, store to Kafka", "events/s", n / s, None, ceiling, "kafka producer-perf"))

        note("rebuild from Kafka offset 0, then from the feed; the peer's projection runner")
        consumed = await asyncio.to_thread(limits.kafka_consumer_perf, settings.kafka_bootstrap,
                                           main_settings.topic(CONTRACT_EVENTS), n)
        peer_rate = None
        if peer_env and wanted & {"rebuild-kafka", "rebuild-feed"}:
            pn, ps = await asyncio.to_thread(peer.project, peer_env)
            peer_rate = pn / ps
        copied, cs = await limits.raw_copy_out(db)
        client = await _python_clients(main_settings, db, wanted, consumed, copied / cs)
        for workers in o["rebuild_workers"]:
            processes = f"{workers} process{'es' if workers > 1 else ''}"
            if "rebuild-kafka" in wanted:
                with profiled("rebuild-kafka", o["profile"] if workers == 1 else None):
                    n_k, s_k, mib_k = await ours.rebuild_financing(main_settings, "kafka", workers=workers)
                rate = n_k / s_k
                figures.append(Figure(f"rebuild financing from Kafka, {processes}", "events/s", rate, peer_rate,
                                      consumed, "kafka consumer-perf", ">= 100,000, >= 50x peer, peak <= 1 GiB",
                                      rate >= 100_000 and (peer_rate is None or rate >= 50 * peer_rate)
                                      and (mib_k or 0) <= 1024,
                                      detail=_joined(f"peak {mib_k:,.0f} MiB" if mib_k else "", client.get("kafka"))))
            if "rebuild-feed" in wanted:
                with profiled("rebuild-feed", o["profile"] if workers == 1 else None):
                    n_f, s_f, mib_f = await ours.rebuild_financing(main_settings, "feed", workers=workers)
                figures.append(Figure(f"rebuild financing from the feed, {processes}", "events/s", n_f / s_f,
                                      peer_rate, copied / cs, "COPY of the log out", ">= 100,000",
                                      n_f / s_f >= 100_000,
                                      detail=_joined(f"peak {mib_f:,.0f} MiB" if mib_f else "", client.get("feed"))))
        figures += client.get("figures", [])

        if not wanted & {"append", "sign", "http", "live", "money", "simulate"}:
            return figures
        note("single-event appends: the contracts store, the peer, one-row INSERTs")
        payloads = [a.streams[0][2][0][1] for a in generate(min(2000, o["append_commands"]), o["seed"] + 1)
                    if a.streams[0][1] == 0]
        raw_payload = json.dumps(payloads[0])
        for writers in o["writers"]:
            with profiled("append", o["profile"] if writers == 8 else None):
                s = await ours.append(db, writers, o["append_commands"], payloads)
            peer_rate = None
            if peer_env:
                ps = await asyncio.to_thread(peer.append, peer_env, writers, o["append_commands"],
                                             lambda i: payloads[i % len(payloads)])
                peer_rate = o["append_commands"] / ps
            rs = await limits.raw_inserts(db, writers, o["append_commands"], raw_payload)
            rate = o["append_commands"] / s
            figures.append(Figure(f"append, {writers} writer{'s' if writers > 1 else ''}", "events/s", rate,
                                  peer_rate, o["append_commands"] / rs, "one-row INSERT txns",
                                  ">= 3x peer" if writers == 8 else "",
                                  (rate >= 3 * peer_rate) if writers == 8 and peer_rate else None))
        with profiled("sign", o["profile"]):
            s = await ours.sign_commands(db, 8, o["append_commands"], run)
        figures.append(Figure("sign command, no HTTP, 8 writers", "commands/s", o["append_commands"] / s))

        note("HTTP: contracts and financing services on a database of their own")
        live_db = await create_database("live")
        o["databases"].append(live_db.parts[3])
        async with _engine(live_db) as engine:
            await load_reference_data(engine)
            async with engine.begin() as conn:
                _, key = await create_key(conn, "cfa", ours.CFA, "bench")
        services = Services(live_db, f"bench{run}live.", REPO_ROOT / ".data" / "log")
        services.start("contracts", "financing")
        for writers in o["writers"]:
            with profiled("http", o["profile"] if writers == 8 else None):
                s, errors, cpu = await ours.http_sign(services, key, writers, o["http_commands"], run,
                                                      meter=Meter(services.processes(), {live_db.parts[3]}))
            rate = o["http_commands"] / s
            calls = o["http_commands"] // writers * writers   # what _writers sends
            metered = calls and cpu.total   # nothing to divide at a toy size under the clock's tick
            figures.append(Figure(f"HTTP sign, {writers} client{'s' if writers > 1 else ''}", "calls/s", rate,
                                  ceiling=cpu.ceiling(calls) if metered else None,
                                  ceiling_by=f"CPU: {1000 * cpu.total / calls:.1f} ms a call in all processes"
                                  if metered else "",
                                  target=">= 500" if writers == 8 else "", met=(rate >= 500) if writers == 8 else None,
                                  detail=f"{errors} errors" if errors else "",
                                  cpu=cpu.summary(calls) if metered else None))
        for processes in o["financing_workers"]:
            extra = services.start_projection_workers(processes - 1) if processes > 1 else []
            label = f"{processes} financing process{'es' if processes > 1 else ''}"
            note(f"live: {o['live_rate']:.0f} signs/s for {o['live_seconds']:.0f} s while the projections consume "
                 f"({label})")
            try:
                with profiled("live", o["profile"] if processes == 1 else None):
                    meter = Meter(services.processes(), {live_db.parts[3]})
                    result = await ours.live(services, key, live_db, o["live_rate"], o["live_seconds"],
                                             f"{run}w{processes}", meter=meter)
            finally:
                services.stop(extra)
            tail = f"{result['calls']:,} calls at {result['achieved_rate']:.0f}/s, {label}"
            if result["errors"] or result["missing"]:
                tail += f", {result['errors']} errors, {result['missing']} never visible"
            cpu, sending, usage = result["cpu"], result["cpu_sending"], None
            if result["calls"]:
                # the load that makes the queueing: the CPUs' share busy while the calls were sent
                tail += (f", CPU {1000 * cpu.total / result['calls']:.1f} ms a call, {sending.utilisation:.0%} of "
                         f"{sending.cpus} CPUs busy")
                usage = cpu.summary(result["calls"]) | {"sending": {
                    "seconds": round(sending.seconds, 3), "utilisation": round(sending.utilisation, 3),
                    "machine_utilisation": round(sending.machine_utilisation, 3)}}
            for what, label_, limit in (("http", "HTTP sign latency", 20), ("visible", "command to projection", 200)):
                p = result[what]
                for q in ("p50", "p95", "p99"):
                    figures.append(Figure(f"{label_} {q}, {label}", "ms", p[q],
                                          target=f"p99 < {limit} ms" if q == "p99" else "",
                                          met=(p[q] < limit) if q == "p99" else None, higher_is_better=False,
                                          detail=tail if q == "p50" else "",
                                          cpu=usage if (what, q) == ("http", "p50") else None))
        if o["money_invoices"]:
            # run after the live stage (which it would otherwise load), shown beside the HTTP sign rows
            at = 1 + max(i for i, f in enumerate(figures) if f.stage.startswith("HTTP sign,"))
            figures[at:at] = await _money(o, services, live_db, run)

        note(f"simulation of {o['simulations']:,} contract paths")
        request = ours.simulation_request(generate(o["simulations"], o["seed"] + 2))
        with profiled("simulate", o["profile"]):
            n, s = ours.simulate_paths(request)
        figures.append(Figure(f"simulate {o['simulations']:,} paths", "s", s, target="< 1 s", met=s < 1,
                              higher_is_better=False, detail=f"{n:,} events"))
    finally:
        if services:
            services.stop()
        if not o["keep"]:
            await drop_topics(settings, f"bench{run}")
            await drop_database(db)
            if live_db:
                await drop_database(live_db)
    return figures


async def _python_clients(settings, db: Database, wanted: set, kafka_ceiling: float,
                          feed_ceiling: float) -> dict:
    """The Python client layer alone over the data the rebuilds read (aiokafka over the contracts
    topic, the store's FeedReader over asyncpg and orjson), as rows of their own and as a second
    ceiling for the rebuild rows' detail."""
    out: dict = {"figures": []}
    meter = Meter(databases={db.parts[3]})
    if "rebuild-kafka" in wanted:
        note("Python client alone: aiokafka reading the contracts topic, nothing decoded")
        topic = settings.topic(CONTRACT_EVENTS)
        r = await limits.aiokafka_consume(settings.kafka_bootstrap, topic, await topic_partitions(settings, topic),
                                          meter=meter)
        out["kafka"] = f"Python client alone: {r['rate']:,.0f}/s"
        out["figures"].append(Figure("Python client alone: aiokafka reading the topic", "records/s", r["rate"],
                                     ceiling=kafka_ceiling, ceiling_by="kafka consumer-perf",
                                     detail=_client_detail(r, "records", "record"), cpu=r.get("cpu")))
    if "rebuild-feed" in wanted:
        note("Python client alone: the store's feed read (asyncpg, orjson)")
        r = await limits.feed_read(db, FINANCING.feed_store, meter=meter)
        out["feed"] = f"Python client alone: {r['rate']:,.0f}/s"
        out["figures"].append(Figure("Python client alone: the feed read, asyncpg + orjson", "rows/s", r["rate"],
                                     ceiling=feed_ceiling, ceiling_by="COPY of the log out",
                                     detail=_client_detail(r, "rows", "row") + f" ({r['decode_us']:.1f} µs "
                                                                                 "of them outside asyncpg: orjson)",
                                     cpu=r.get("cpu")))
    return out


def _client_detail(r: dict, unit: str, one: str) -> str:
    return f"{r[unit]:,} {unit}, client CPU {r['client_us']:.1f} µs a {one}"


def _joined(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


MONEY_STEPS = (("issue", "HTTP invoice issue", "invoices/s"), ("accept", "HTTP invoice acceptance", "acceptances/s"),
               ("pay", "HTTP payment", "payments/s"))


async def _money(o: dict, services: Services, db: Database, run: str) -> list[Figure]:
    """The money loop through HTTP: invoices issued by one CFA (one gap-free number sequence, so
    they queue by design), then by several CFAs; each accepted and paid by the OPCO."""
    clients, invoices, spread = o["money_clients"], o["money_invoices"], o["money_cfas"]
    uais = ours.money_cfas(1 + spread)
    variants = [("1 CFA", uais[:1])] + ([(f"{spread} CFAs", uais[1:])] if spread > 1 else [])
    out: list[Figure] = []
    for label, cfas in variants:
        note(f"money loop, {label}: {invoices:,} invoices issued, accepted and paid through HTTP, {clients} clients")
        cfa_keys, opco_key = await ours.money_keys(db, cfas)
        started = time.perf_counter()
        # two-year R2019 contracts: six advances each, all due today
        contracts = max(len(cfas), -(-invoices // ours.MONEY_ADVANCES_PER_CONTRACT))
        advances = await ours.money_setup(services, cfa_keys, opco_key, contracts, clients, f"{run}m{len(cfas)}")
        note(f"  {contracts:,} contracts signed, transmitted, accepted and in the projection in "
             f"{time.perf_counter() - started:.1f} s")
        with profiled("money", o["profile"] if len(cfas) == 1 else None):
            result = await ours.http_money(services, cfa_keys, opco_key, advances, clients, invoices,
                                           f"{run}m{len(cfas)}")
        for step, what, unit in MONEY_STEPS:
            r = result[step]
            done = r["calls"] - r["errors"]
            detail = f"{r['calls']:,} calls, p50 {r['p50']:,.0f} ms, p99 {r['p99']:,.0f} ms"
            if r["errors"]:
                detail += f", {r['errors']} errors"
            out.append(Figure(f"{what}, {clients} client{'s' if clients > 1 else ''}, {label}", unit,
                              done / r["seconds"], detail=detail,
                              latency_ms={q: round(r[q], 1) for q in ("p50", "p95", "p99")}))
    for failure in ours.MONEY_FAILURES:
        note(f"  [red]refused[/red] {failure}")
    return out


@contextlib.asynccontextmanager
async def _engine(db: Database):
    engine = make_engine(db.settings(""), pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _sql(db: Database, statement: str) -> None:
    from sqlalchemy import text
    async with _engine(db) as engine:
        async with engine.begin() as conn:
            await conn.execute(text(statement))


def main(contracts: int = typer.Option(100_000, help="contracts in the generated history (~4.6 events each)"),
         seed: int = typer.Option(7),
         append_commands: int = typer.Option(4000, help="single-event commands per concurrency level"),
         writers: str = typer.Option("1,8,32", help="concurrency levels for appends and HTTP"),
         http_commands: int = typer.Option(2000, help="HTTP sign calls per concurrency level"),
         live_rate: float = typer.Option(200.0, help="sign calls per second in the live stage"),
         live_seconds: float = typer.Option(60.0, help="length of the live stage"),
         money_invoices: int = typer.Option(200, help="invoices issued, accepted and paid per CFA spread (0: skip)"),
         money_cfas: int = typer.Option(8, help="CFAs the second run of the money loop spreads its invoices over"),
         money_clients: int = typer.Option(8, help="concurrent HTTP clients of the money loop"),
         simulations: int = typer.Option(10_000, help="contract paths in the simulation"),
         peer: bool = typer.Option(True, help="run the eventsourcing library beside Parcours"),
         rebuild_workers: str = typer.Option("1,2", help="processes computing the paths in each rebuild run"),
         financing_workers: str = typer.Option("1,2", help="financing projection processes in each live run"),
         stages: str = typer.Option(",".join(STAGES), help="the stages to run (import and relay always run: "
                                                            "the others read what they wrote)"),
         profile: str = typer.Option(None, help=f"pyinstrument one stage: {', '.join(STAGES)}"),
         keep: bool = typer.Option(False, help="keep the benchmark databases and topics"),
         json_out: Path = typer.Option(None, "--json", help="also write the figures as JSON here")):
    """Benchmarks: Parcours beside the eventsourcing library and the machine's ceilings."""
    if profile and profile not in STAGES:
        raise typer.BadParameter(f"one of {', '.join(STAGES)}", param_hint="--profile")
    levels = [int(w) for w in writers.split(",") if w.strip()]
    options = dict(contracts=contracts, seed=seed, append_commands=append_commands, writers=levels,
                   http_commands=http_commands, live_rate=live_rate, live_seconds=live_seconds,
                   money_invoices=money_invoices, money_cfas=money_cfas, money_clients=money_clients,
                   simulations=simulations, peer=peer, profile=profile, keep=keep,
                   rebuild_workers=[int(w) for w in rebuild_workers.split(",") if w.strip()],
                   financing_workers=[int(w) for w in financing_workers.split(",") if w.strip()],
                   stages=sorted({s.strip() for s in stages.split(",") if s.strip()}))
    unknown = set(options["stages"]) - set(STAGES)
    if unknown:
        raise typer.BadParameter(f"unknown {', '.join(sorted(unknown))}; one of {', '.join(STAGES)}",
                                 param_hint="--stages")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a killed run still drops its databases
    started = time.perf_counter()
    databases: list[str] = []
    figures = asyncio.run(_main({**options, "stages": set(options["stages"]), "databases": databases}))
    meta = {"databases": databases, "when": datetime.now(timezone.utc).isoformat(), "options": options, "python": platform.python_version(),
            "machine": f"{platform.machine()}, {_cpus()} CPUs", "seconds": round(time.perf_counter() - started, 1)}
    render(figures, f"Parcours benchmarks ({meta['machine']}, {contracts:,} contracts, "
                    f"{meta['seconds']:.0f} s in all)", Console(width=200))
    save(figures, json_out or OUT / f"results-{datetime.now():%Y%m%d-%H%M%S}.json", meta)


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    typer.run(main)
