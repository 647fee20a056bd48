"""What every ops command shares: an engine on a database we migrated, and logging."""
from __future__ import annotations

from contextlib import asynccontextmanager

import structlog
import typer

from shared.db import make_engine
from shared.migrations import migration_problems
from shared.observability import configure_logging
from shared.settings import get_settings

log = structlog.get_logger("ops")
STORES = ("contracts", "financing", "quality")


@asynccontextmanager
async def migrated_engine(pool_size: int = 4):
    """An engine, after checking the database is at the current migrations (else exit 3)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings, pool_size=pool_size)
    try:
        async with engine.connect() as conn:
            problems = await migration_problems(conn)
        if problems:
            typer.echo("refusing to run: " + "; ".join(problems) + " (run `parcours db upgrade`)", err=True)
            raise typer.Exit(3)
        yield engine
    finally:
        await engine.dispose()
