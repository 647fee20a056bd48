"""``parcours ops ...``: audits and replays for operators (local database access)."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from pathlib import Path

import typer
from sqlalchemy import text

from operations.common import STORES, log, migrated_engine
from shared.eventstore.chain import Break, verify_chain

app = typer.Typer(no_args_is_help=True, help="Ops: verify the log, export audit trails, rebuild projections.")


@app.command("verify-chain")
def verify_chain_cmd(stream: str = typer.Option(None, help="one stream (e.g. a contract id); default: all"),
                     store: str = typer.Option(None, help=f"one store of {', '.join(STORES)}; default: all")):
    """Check every stream's hash chain; names each altered, removed or reordered event (exit 1)."""
    stores = [store] if store else list(STORES)

    async def run() -> int:
        broken = 0
        async with migrated_engine() as engine:
            for schema in stores:
                async with engine.connect() as conn:
                    async for item in verify_chain(conn, schema, stream):
                        if isinstance(item, Break):
                            broken += 1
                            typer.echo(f"{schema}: {item}")
                        else:
                            log.info("ops.verify_chain", store=schema, events=item)
                            typer.echo(f"{schema}: {item} events checked", err=True)
        return broken
    broken = asyncio.run(run())
    if broken:
        typer.echo(f"{broken} break(s) in the chain", err=True)
        raise typer.Exit(1)
    typer.echo("every chain holds", err=True)


@app.command("audit-export")
def audit_export_cmd(out: Path = typer.Option(..., help="the folder to write into"),
                     contract: str = typer.Option(None), apprentice: str = typer.Option(None),
                     cfa: str = typer.Option(None, help="a CFA's UAI or SIRET, with --from and --to"),
                     from_: str = typer.Option(None, "--from"), to: str = typer.Option(None),
                     as_of: str = typer.Option(None, help="what was known then: an ISO timestamp with offset"),
                     with_personal_data: bool = typer.Option(False, "--with-personal-data",
                                                             help="include names, NIR, addresses (left out by default)")):
    """Export the events, the funding as of a time and a SHA-256 manifest of one audit scope."""
    from operations.audit_export import export, select_contracts

    if sum(x is not None for x in (contract, apprentice, cfa)) != 1:
        typer.echo("error: give exactly one of --contract, --apprentice, --cfa", err=True)
        raise typer.Exit(2)
    when = datetime.fromisoformat(as_of) if as_of else None
    if when is not None and when.tzinfo is None:
        typer.echo("error: --as-of needs a UTC offset, e.g. 2025-01-31T23:59:59+00:00", err=True)
        raise typer.Exit(2)
    selection = {k: v for k, v in {"contract": contract, "apprentice": apprentice, "cfa": cfa, "from": from_,
                                   "to": to}.items() if v}

    async def run():
        async with migrated_engine() as engine:
            async with engine.connect() as conn:
                ids = await select_contracts(conn, contract, apprentice, cfa,
                                             date.fromisoformat(from_) if from_ else None,
                                             date.fromisoformat(to) if to else None)
                return await export(conn, out, selection, ids, when, with_personal_data)
    manifest = asyncio.run(run())
    log.info("ops.audit_export", out=str(out), contracts=len(manifest["contracts"]), events=manifest["events"])
    typer.echo(json.dumps({"out": str(out), "contracts": len(manifest["contracts"]), "events": manifest["events"],
                           "chain": "intact" if manifest["chain"] == "intact" else "broken"}))
    if manifest["chain"] != "intact":
        raise typer.Exit(1)


def _spec(name: str):
    from operations.projections import SPECS
    if name not in SPECS:
        typer.echo(f"error: no projection {name!r} to rebuild (known: {', '.join(SPECS)})", err=True)
        raise typer.Exit(2)
    return SPECS[name]


async def _run_rebuild(engine, spec, target: str, source: str, until=None, batch: int = 5000,
                       workers: int = 1, paths_per_transaction: int | None = None) -> tuple[int, int]:
    """The projection from its source, then the rows folded from the service's own money events
    (from its store, whatever the source): (events, money events) applied."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn)

    from operations.rebuild import PATHS_PER_CHUNK, from_feed, from_kafka, from_ledger, prepare
    from shared.settings import get_settings

    chunk = paths_per_transaction or PATHS_PER_CHUNK
    resume = await prepare(engine, spec, target, source)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]} events/s"), TimeRemainingColumn(), transient=False) as bar:
        def tracker(description: str):
            task = bar.add_task(description, total=None, rate="-")

            def progress(n: int, total: int | None) -> None:
                if total is not None:
                    bar.update(task, total=total)
                bar.advance(task, n)
                speed = bar.tasks[task].speed
                bar.update(task, rate=f"{speed:,.0f}" if speed else "-")
            return progress
        progress = tracker(f"{spec.name} from {source}")
        paths = tracker(f"{spec.name} paths computed ({workers} process{'es' if workers > 1 else ''})") \
            if spec.make_bulk else None
        if source == "kafka":
            done = await from_kafka(engine, spec, target, get_settings(), resume, progress, until=until, batch=batch,
                                    workers=workers, paths=paths, chunk=chunk)
        else:
            done = await from_feed(engine, spec, target, resume, progress, batch=batch, workers=workers, paths=paths,
                                   chunk=chunk)
        money = 0
        if spec.ledger:
            money = await from_ledger(engine, spec, target, tracker(f"{spec.name} money events from its store"),
                                      batch=batch)
        return done, money


@app.command("rebuild")
def rebuild_cmd(projection: str = typer.Argument(..., help="financing or quality"),
                source: str = typer.Option("kafka", help="kafka (offset 0 of its topics) or feed (the owning store)"),
                swap: bool = typer.Option(False, help="make the rebuilt tables live (old ones kept until drop-previous)"),
                batch: int = typer.Option(5000, min=1, help="events per transaction"),
                workers: int = typer.Option(1, min=1, max=64, help="processes computing the paths (financing)"),
                paths_per_transaction: int = typer.Option(None, min=1, help="apprentice paths computed per "
                                                                            "transaction (financing; default 2000)")):
    """Rebuild a projection into fresh tables while the live ones keep serving (financing: with its
    invoices, payments, regularisations and document numbers, folded from the financing store)."""
    from operations.rebuild import swap as swap_tables
    from operations.rebuild import target_schema

    if source not in ("kafka", "feed"):
        typer.echo("error: --source is kafka or feed", err=True)
        raise typer.Exit(2)
    spec = _spec(projection)

    async def run():
        async with migrated_engine() as engine:
            target = target_schema(spec)
            done, money = await _run_rebuild(engine, spec, target, source, batch=batch, workers=workers,
                                             paths_per_transaction=paths_per_transaction)
            swapped = await swap_tables(engine, spec, target) if swap else None
            return done, money, swapped
    done, money, swapped = asyncio.run(run())
    log.info("ops.rebuild", projection=projection, source=source, events=done, money_events=money, swapped=swap)
    typer.echo(json.dumps({"projection": projection, "source": source, "events": done,
                           **({"money_events": money} if spec.ledger else {}), "swapped": swap,
                           **({"late_events_applied": swapped.late_events} if swap else {}),
                           **({"late_money_events_applied": swapped.late_money_events} if swap and spec.ledger
                              else {})}))


@app.command("verify")
def verify_cmd(projection: str = typer.Argument(..., help="financing or quality"),
               source: str = typer.Option("kafka", help="kafka (up to the live consumer's offsets) or feed"),
               workers: int = typer.Option(1, min=1, max=64, help="processes computing the paths (financing)")):
    """Compare the live projection with a fresh rebuild: row counts and a content hash per table
    (financing: the money loop's invoices, lines, payments, regularisations and document numbers
    too, folded from the financing store), then the differing keys. Exit 1 on any difference."""
    from operations.rebuild import compare, live_offsets, target_schema
    from shared.settings import get_settings
    spec = _spec(projection)

    async def run():
        async with migrated_engine() as engine:
            target = target_schema(spec, "verify")
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA IF EXISTS {target} CASCADE"))
            until = await live_offsets(engine, spec, get_settings()) if source == "kafka" else None
            await _run_rebuild(engine, spec, target, source, until=until, workers=workers)
            reports = await compare(engine, spec, target)
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA {target} CASCADE"))
            return reports
    reports = asyncio.run(run())
    for r in reports:
        state = "equal" if r.equal else "DIFFERENT"
        typer.echo(f"{r.table}: live {r.live_rows} rows {r.live_hash[:12]}, rebuilt {r.rebuilt_rows} rows "
                   f"{r.rebuilt_hash[:12]}: {state}")
        for key in r.differing_keys:
            typer.echo(f"  differs: {key}")
    log.info("ops.verify", projection=projection, equal=all(r.equal for r in reports))
    if not all(r.equal for r in reports):
        raise typer.Exit(1)


@app.command("drop-previous")
def drop_previous_cmd(projection: str = typer.Argument(..., help="financing or quality")):
    """Drop the tables a swap replaced."""
    from operations.rebuild import drop_previous
    spec = _spec(projection)

    async def run():
        async with migrated_engine() as engine:
            return await drop_previous(engine, spec)
    typer.echo("dropped" if asyncio.run(run()) else "nothing to drop")


@app.command("replay-topic")
def replay_topic_cmd(topic: str = typer.Option(..., help="e.g. contracts.events (the prefix is added)"),
                     from_time: str = typer.Option(..., help="ISO timestamp with offset"),
                     to_time: str = typer.Option(..., help="ISO timestamp with offset (excluded)"),
                     into: Path = typer.Option(..., help="the folder to write into")):
    """Copy the records of a topic between two times to JSON Lines files, one per partition,
    with offsets.json naming the offsets covered."""
    from operations.replay_topic import replay
    from shared.settings import get_settings

    start, end = datetime.fromisoformat(from_time), datetime.fromisoformat(to_time)
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        typer.echo("error: give two timestamps with offsets, the second after the first", err=True)
        raise typer.Exit(2)

    async def run():
        async with migrated_engine(pool_size=1):
            settings = get_settings()
            return await replay(settings, settings.topic(topic), start, end, into)
    summary = asyncio.run(run())
    log.info("ops.replay_topic", topic=topic, records=sum(p["records"] for p in summary["partitions"].values()))
    typer.echo(json.dumps(summary))


@app.command("generate-history")
def generate_history_cmd(out: Path = typer.Argument(..., help="the history file to write (JSON lines)"),
                         contracts: int = typer.Option(1000, min=1, help="how many contracts"),
                         seed: int = typer.Option(7, help="the same seed gives the same file")):
    """Write a realistic, deterministic apprenticeship history (for imports, rebuilds, benchmarks)."""
    from operations.history_file import write

    events = write(out, contracts, seed)
    typer.echo(json.dumps({"out": str(out), "contracts": contracts, "events": events}))


@app.command("import-history")
def import_history_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a history file"),
                       chunk: int = typer.Option(20_000, min=1, help="events per transaction")):
    """Load a history file into the contracts store with COPY, checking every stream's version;
    events already imported are skipped, so an interrupted import is simply run again."""
    from rich.progress import BarColumn, Progress, TextColumn

    from operations.history_file import HistoryFileError
    from operations.import_history import ImportConflict, import_file

    async def run():
        async with migrated_engine() as engine:
            with Progress(TextColumn("import"), BarColumn(), TextColumn("{task.completed:,.0f} events"),
                          transient=True) as bar:
                task = bar.add_task("import", total=None)
                return await import_file(engine, file, chunk_events=chunk, progress=lambda n: bar.advance(task, n))
    try:
        report = asyncio.run(run())
    except (HistoryFileError, ImportConflict) as exc:
        typer.echo(f"error: {exc} (nothing of the failing chunk was written)", err=True)
        raise typer.Exit(2)
    log.info("ops.import_history", file=str(file), events=report.events, skipped=report.skipped)
    typer.echo(json.dumps({"events": report.events, "skipped": report.skipped, "contracts": report.contracts}))


@app.command("reconcile-deca")
def reconcile_deca_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                   help="a DECA extract: JSON (a page or a list of pages) or CSV"),
                       format_: str = typer.Option("json", "--format", help="json or csv"),
                       out: Path = typer.Option(None, help="write the report there (default: standard output)"),
                       complete: bool = typer.Option(None, "--complete/--partial",
                                                     help="read the extract as complete or not (default: its metadonnees)"),
                       opco: str = typer.Option(None, help="compare only this OPCO's contracts")):
    """List, per contract, where a DECA extract and the log disagree (docs/deca.md); exit 1 when
    they disagree, 2 when the extract cannot be read."""
    from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
    from services.contracts.application.deca_exchange import reconcile_deca
    from services.contracts.domain.deca import DecaExtractError, report_csv, report_json
    from kernel.access import Principal

    if format_ not in ("json", "csv"):
        typer.echo("error: --format is json or csv", err=True)
        raise typer.Exit(2)
    body = file.read_bytes()
    csv_format = True if file.suffix.lower() == ".csv" else False if file.suffix.lower() == ".json" else None

    async def run():
        async with migrated_engine(pool_size=1) as engine:
            return await reconcile_deca(SqlUnitOfWork(engine), Principal("cli", "ops", "ops"), body,
                                        csv_format=csv_format, complete=complete, opco=opco)
    try:
        report = asyncio.run(run())
    except DecaExtractError as exc:
        for e in exc.errors or []:
            typer.echo(f"error: {e['field']}: {e['code']}: {e['message']}", err=True)
        raise typer.Exit(2)
    text_out = report_csv(report) if format_ == "csv" else json.dumps(report_json(report), ensure_ascii=False,
                                                                     indent=2) + "\n"
    if out is not None:
        out.write_text(text_out, encoding="utf-8")
    else:
        typer.echo(text_out, nl=False)
    log.info("ops.reconcile_deca", file=str(file), contracts=report.in_extract, disagreements=report.disagreements)
    typer.echo(json.dumps({"in_extract": report.in_extract, "compared": report.compared, "matched": report.matched,
                           "disagreements": report.disagreements, "complete": report.complete}), err=True)
    if report.disagreements:
        raise typer.Exit(1)
