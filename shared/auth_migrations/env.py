"""Alembic environment of the auth schema (API keys)."""
from shared.migrations import run_env

run_env()
