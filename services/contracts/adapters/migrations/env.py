"""Alembic environment of the contracts schema."""
from shared.migrations import run_env

run_env()
