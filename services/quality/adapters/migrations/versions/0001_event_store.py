"""Quality event store.

Revision ID: quality_0001
"""
from shared.eventstore.migration import create_event_store
from alembic import op

revision = "quality_0001"
down_revision = None


def upgrade():
    create_event_store("quality")


def downgrade():
    op.execute("DROP SCHEMA quality CASCADE")
