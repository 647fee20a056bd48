"""Idempotency keys keep the first response's exact bytes.

Revision ID: financing_0004
"""
from alembic import op

revision = "financing_0004"
down_revision = "financing_0003"


def upgrade():
    op.execute("ALTER TABLE financing.idempotency_keys ALTER COLUMN body TYPE text USING body::text")


def downgrade():
    op.execute("ALTER TABLE financing.idempotency_keys ALTER COLUMN body TYPE jsonb USING body::jsonb")
