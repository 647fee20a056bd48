"""Hash chain of every stream (audit: altered, removed or reordered events are detected).

Revision ID: financing_0005
"""
from alembic import op

from shared.eventstore.chain_migration import add_hash_chain

revision = "financing_0005"
down_revision = "financing_0004"


def upgrade():
    add_hash_chain("financing")


def downgrade():
    op.execute("ALTER TABLE financing.events DROP COLUMN prev_hash, DROP COLUMN hash")
