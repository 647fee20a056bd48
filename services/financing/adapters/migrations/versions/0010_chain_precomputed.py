"""The hash-chain trigger skips rows a bulk writer hashed itself, set-based, in a transaction
that declares them precomputed (shared/eventstore/chain_migration.py says why that is safe).

Revision ID: financing_0010
"""
from shared.eventstore.chain_migration import allow_precomputed_chain, compute_every_chain

revision = "financing_0010"
down_revision = "financing_0009"


def upgrade():
    allow_precomputed_chain("financing")


def downgrade():
    compute_every_chain("financing")
