"""The ``parcours`` command: keys, database migrations, demo data, relay."""
from __future__ import annotations

import asyncio

import typer

from shared.settings import get_settings

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Parcours: apprenticeship contracts, funding and quality.")
keys = typer.Typer(no_args_is_help=True, help="API keys (shown once, stored hashed).")
db = typer.Typer(no_args_is_help=True, help="Database schema.")
demo = typer.Typer(no_args_is_help=True, help="Demo data.")
relay = typer.Typer(no_args_is_help=True, help="Outbox relay.")
app.add_typer(keys, name="keys")
app.add_typer(db, name="db")
app.add_typer(demo, name="demo")
app.add_typer(relay, name="relay")


def _register_services() -> None:
    from services.financing.cli import app as financing
    from operations.ops_cli import app as ops
    app.add_typer(financing, name="financing")
    app.add_typer(ops, name="ops")


_register_services()


def _run(coro):
    return asyncio.run(coro)


async def _with_conn(fn):
    from shared.db import make_engine
    engine = make_engine(get_settings(), pool_size=1)
    try:
        async with engine.begin() as conn:
            return await fn(conn)
    finally:
        await engine.dispose()


@keys.command("create")
def keys_create(role: str = typer.Option(..., help="cfa, opco or ops"),
                org: str = typer.Option(..., help="CFA UAI or SIRET, OPCO code, or a name for ops"),
                label: str = typer.Option(None, help="a note for whoever lists the keys")):
    """Create a key; the key itself is printed once, as the last line."""
    from shared.auth import create_key
    try:
        key_id, raw = _run(_with_conn(lambda c: create_key(c, role, org, label)))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"key id {key_id} ({role}, {org}); store the key now, it is not shown again:", err=True)
    typer.echo(raw)


@keys.command("list")
def keys_list():
    from shared.auth import list_keys
    for r in _run(_with_conn(list_keys)):
        state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
        typer.echo(f"{r.key_id}\t{r.role}\t{r.org}\t{state}\t{r.label or ''}")


@keys.command("revoke")
def keys_revoke(key_id: str):
    from shared.auth import revoke_key
    if not _run(_with_conn(lambda c: revoke_key(c, key_id))):
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@db.command("upgrade")
def db_upgrade():
    """Apply the Alembic migrations of every service."""
    from shared.migrations import upgrade_all
    for schema in upgrade_all():
        typer.echo(f"{schema}: up to date", err=True)


@demo.command("load")
def demo_load():
    """Create demo keys (once) and write them to the data directory."""
    from operations.demo import load_demo
    typer.echo(_run(load_demo()))


@relay.command("run")
def relay_run(until_idle: bool = typer.Option(False, help="stop once everything is published")):
    """Run the contracts outbox relay in this process."""
    from services.contracts.adapters.contracts_relay import contracts_relay
    from shared.db import make_engine
    from shared.messaging.relay import make_producer
    from shared.messaging.topics import CONTRACT_EVENTS, ensure_topics

    async def main():
        s = get_settings()
        await ensure_topics(s, [CONTRACT_EVENTS])
        engine, producer = make_engine(s, pool_size=2), make_producer(s.kafka_bootstrap)
        await producer.start()
        try:
            r = contracts_relay(engine, producer, s)   # the public data only, as the service publishes
            if until_idle:
                typer.echo(f"published {await r.run_until_idle()} events", err=True)
            else:
                await r.run(asyncio.Event())
        finally:
            await producer.stop()
            await engine.dispose()
    _run(main())


def main():
    app()


if __name__ == "__main__":
    main()
