"""The store's append function: version check and insert in one round trip.

Revision ID: financing_0006
"""
from shared.eventstore.append_function import add_append_function, drop_append_function

revision = "financing_0006"
down_revision = "financing_0005"


def upgrade():
    add_append_function("financing")


def downgrade():
    drop_append_function("financing")
