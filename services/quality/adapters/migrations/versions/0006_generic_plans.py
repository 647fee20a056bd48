"""The append function keeps one plan per session for its queries
(shared/eventstore/append_function.py, plan_generically, says why).

Revision ID: quality_0006
"""
from shared.eventstore.append_function import APPEND_SIGNATURE, plan_as_before, plan_generically

revision = "quality_0006"
down_revision = "quality_0005"
FUNCTIONS = (f"quality.{APPEND_SIGNATURE}",)


def upgrade():
    plan_generically(*FUNCTIONS)


def downgrade():
    plan_as_before(*FUNCTIONS)
