"""Alembic environment of the quality schema."""
from shared.migrations import run_env

run_env()
