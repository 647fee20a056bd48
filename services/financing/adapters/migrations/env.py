"""Alembic environment of the financing schema."""
from shared.migrations import run_env

run_env()
