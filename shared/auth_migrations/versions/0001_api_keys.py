"""API keys.

Revision ID: auth_0001
"""
from alembic import op

revision = "auth_0001"
down_revision = None


def upgrade():
    op.execute("""
        CREATE TABLE auth.api_keys (
            key_id text PRIMARY KEY,
            key_hash text NOT NULL,
            role text NOT NULL CHECK (role IN ('cfa', 'opco', 'ops')),
            org text NOT NULL,
            label text,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz
        )""")


def downgrade():
    op.execute("DROP TABLE auth.api_keys")
