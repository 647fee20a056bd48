"""Alembic for every service: each owns a schema and a migrations folder; ``upgrade_all`` applies
them in order (``parcours db upgrade``)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.settings import REPO_ROOT, get_settings

MIGRATIONS = [
    ("auth", REPO_ROOT / "shared" / "auth_migrations"),
    ("contracts", REPO_ROOT / "services" / "contracts" / "adapters" / "migrations"),
    ("financing", REPO_ROOT / "services" / "financing" / "adapters" / "migrations"),
    ("quality", REPO_ROOT / "services" / "quality" / "adapters" / "migrations"),
    ("webhooks", REPO_ROOT / "services" / "webhooks" / "adapters" / "migrations"),
]


def alembic_config(schema: str, folder: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("parcours_schema", schema)
    return cfg


def upgrade_all(database_url: str | None = None) -> list[str]:
    url = database_url or get_settings().database_url
    for schema, folder in MIGRATIONS:
        command.upgrade(alembic_config(schema, folder, url), "head")
    return [s for s, _ in MIGRATIONS]


def expected_heads() -> dict[str, str]:
    from alembic.script import ScriptDirectory
    url = "postgresql+asyncpg://unused/unused"
    return {schema: ScriptDirectory.from_config(alembic_config(schema, folder, url)).get_current_head()
            for schema, folder in MIGRATIONS}


async def migration_problems(conn) -> list[str]:
    """Why this database is not one `parcours db upgrade` brought to the current heads (empty: it is)."""
    problems = []
    for schema, head in expected_heads().items():
        exists = await conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{schema}.alembic_version"})
        if not exists:
            problems.append(f"schema {schema} was never migrated")
            continue
        current = await conn.scalar(text(f"SELECT version_num FROM {schema}.alembic_version"))
        if current != head:
            problems.append(f"schema {schema} is at {current}, expected {head}")
    return problems


def run_env() -> None:
    """Body of every service's alembic ``env.py``: migrate that service's schema online."""
    from alembic import context

    cfg = context.config
    schema = cfg.get_main_option("parcours_schema")
    url = cfg.get_main_option("sqlalchemy.url")

    def migrate(connection):
        context.configure(connection=connection, version_table="alembic_version",
                          version_table_schema=schema, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main():
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            await conn.commit()
            await conn.run_sync(migrate)
            await conn.commit()
        await engine.dispose()

    asyncio.run(main())
