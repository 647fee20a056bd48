"""Idempotency keys keep the first response's exact bytes.

Revision ID: contracts_0003
"""
from alembic import op

revision = "contracts_0003"
down_revision = "contracts_0002"


def upgrade():
    op.execute("ALTER TABLE contracts.idempotency_keys ALTER COLUMN body TYPE text USING body::text")


def downgrade():
    op.execute("ALTER TABLE contracts.idempotency_keys ALTER COLUMN body TYPE jsonb USING body::jsonb")
