"""The append function keeps one plan per session for its queries
(shared/eventstore/append_function.py, plan_generically, says why).

Revision ID: financing_0011
"""
from shared.eventstore.append_function import APPEND_SIGNATURE, plan_as_before, plan_generically

revision = "financing_0011"
down_revision = "financing_0010"
FUNCTIONS = (f"financing.{APPEND_SIGNATURE}",)


def upgrade():
    plan_generically(*FUNCTIONS)


def downgrade():
    plan_as_before(*FUNCTIONS)
