"""Hash chain of every stream (audit: altered, removed or reordered events are detected).

Revision ID: quality_0002
"""
from alembic import op

from shared.eventstore.chain_migration import add_hash_chain

revision = "quality_0002"
down_revision = "quality_0001"


def upgrade():
    add_hash_chain("quality")


def downgrade():
    op.execute("ALTER TABLE quality.events DROP COLUMN prev_hash, DROP COLUMN hash")
