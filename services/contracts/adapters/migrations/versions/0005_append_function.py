"""The store's append function: version check and insert in one round trip.

Revision ID: contracts_0005
"""
from shared.eventstore.append_function import add_append_function, drop_append_function

revision = "contracts_0005"
down_revision = "contracts_0004"


def upgrade():
    add_append_function("contracts")


def downgrade():
    drop_append_function("contracts")
