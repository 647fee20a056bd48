"""The hash-chain trigger skips rows a bulk writer hashed itself, set-based, in a transaction
that declares them precomputed (shared/eventstore/chain_migration.py says why that is safe).

Revision ID: contracts_0007
"""
from shared.eventstore.chain_migration import allow_precomputed_chain, compute_every_chain

revision = "contracts_0007"
down_revision = "contracts_0006"


def upgrade():
    allow_precomputed_chain("contracts")


def downgrade():
    compute_every_chain("contracts")
