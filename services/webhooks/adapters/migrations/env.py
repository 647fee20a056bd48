"""Alembic environment of the webhooks schema."""
from shared.migrations import run_env

run_env()
