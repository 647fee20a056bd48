"""``parcours ops ...``: audits and replays for operators (local database access)."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from pathlib import Path

import typer

from services.ops.common import STORES, log, migrated_engine
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
                     as_of: str = typer.Option(None, help="what was known then: an ISO timestamp with offset")):
    """Export the events, the funding as of a time and a SHA-256 manifest of one audit scope."""
    from services.ops.audit_export import export, select_contracts

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
                return await export(conn, out, selection, ids, when)
    manifest = asyncio.run(run())
    log.info("ops.audit_export", out=str(out), contracts=len(manifest["contracts"]), events=manifest["events"])
    typer.echo(json.dumps({"out": str(out), "contracts": len(manifest["contracts"]), "events": manifest["events"],
                           "chain": "intact" if manifest["chain"] == "intact" else "broken"}))
    if manifest["chain"] != "intact":
        raise typer.Exit(1)
