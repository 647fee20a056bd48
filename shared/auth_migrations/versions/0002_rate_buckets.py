"""Rate buckets shared by the HTTP worker processes of a service (shared/api/key_lookups.py):
one token bucket per service and key. UNLOGGED: a bucket is worth nothing after a crash (it
starts full again), so its updates write no WAL.

Revision ID: auth_0002
"""
from alembic import op

revision = "auth_0002"
down_revision = "auth_0001"


def upgrade():
    op.execute("""
        CREATE UNLOGGED TABLE auth.rate_buckets (
            service text NOT NULL,
            key_id text NOT NULL,
            tokens double precision NOT NULL,
            updated double precision NOT NULL,
            granted integer NOT NULL,
            PRIMARY KEY (service, key_id)
        )""")


def downgrade():
    op.execute("DROP TABLE auth.rate_buckets")
