"""``parcours ops ...``: audits and replays for operators (local database access)."""
from __future__ import annotations

import asyncio

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
