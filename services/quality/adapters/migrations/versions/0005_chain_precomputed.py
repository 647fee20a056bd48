"""The hash-chain trigger skips rows a bulk writer hashed itself, set-based, in a transaction
that declares them precomputed (shared/eventstore/chain_migration.py says why that is safe).

Revision ID: quality_0005
"""
from shared.eventstore.chain_migration import allow_precomputed_chain, compute_every_chain

revision = "quality_0005"
down_revision = "quality_0004"


def upgrade():
    allow_precomputed_chain("quality")


def downgrade():
    compute_every_chain("quality")
