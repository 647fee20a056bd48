"""The store's append function: version check and insert in one round trip.

Revision ID: quality_0004
"""
from shared.eventstore.append_function import add_append_function, drop_append_function

revision = "quality_0004"
down_revision = "quality_0003"


def upgrade():
    add_append_function("quality")


def downgrade():
    drop_append_function("quality")
