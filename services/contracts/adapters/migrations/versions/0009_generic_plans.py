"""The append function and the sign's hold-then-read of an apprentice keep one plan per session for
their queries (shared/eventstore/append_function.py, plan_generically, says why).

Revision ID: contracts_0009
"""
from shared.eventstore.append_function import APPEND_SIGNATURE, plan_as_before, plan_generically

revision = "contracts_0009"
down_revision = "contracts_0008"
# (not live_for_masters: its containment test over the masters' patterns is one whose plan
# may rightly depend on the patterns given)
FUNCTIONS = (f"contracts.{APPEND_SIGNATURE}", "contracts.live_for_apprentice(text, text[])")


def upgrade():
    plan_generically(*FUNCTIONS)


def downgrade():
    plan_as_before(*FUNCTIONS)
