"""The CERFA: the pseudonymisation key (contracts.secrets, made here once, never published) and
an index to find the live contracts of a master in the read model.

Revision ID: contracts_0006
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "contracts_0006"
down_revision = "contracts_0005"


def upgrade():
    op.execute("CREATE TABLE contracts.secrets (name text PRIMARY KEY, value bytea NOT NULL)")
    op.get_bind().execute(sa.text("INSERT INTO contracts.secrets (name, value) VALUES ('pseudonym_key', :v)"),
                          {"v": secrets.token_bytes(32)})
    op.execute("CREATE INDEX contracts_by_master ON contracts.contracts "
               "USING gin ((state -> 'terms' -> 'masters') jsonb_path_ops)")


def downgrade():
    op.execute("DROP INDEX contracts.contracts_by_master")
    op.execute("DROP TABLE contracts.secrets")
