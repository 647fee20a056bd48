"""Hash chain of every stream (audit: altered, removed or reordered events are detected).

Revision ID: contracts_0004
"""
from alembic import op

from shared.eventstore.chain_migration import add_hash_chain

revision = "contracts_0004"
down_revision = "contracts_0003"


def upgrade():
    add_hash_chain("contracts")


def downgrade():
    op.execute("ALTER TABLE contracts.events DROP COLUMN prev_hash, DROP COLUMN hash")
