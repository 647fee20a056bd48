"""The append function of every store, and the sign's hold-then-read of an apprentice, keep one
plan per session (shared/eventstore/append_function.py, plan_generically): without it PostgreSQL
re-planned the append's version check at every call."""
from sqlalchemy import text


async def test_the_hot_functions_plan_generically(engine):
    async with engine.connect() as conn:
        configured = dict((await conn.execute(text(
            "SELECT n.nspname || '.' || p.proname, array_to_string(p.proconfig, ',') FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname IN ('append_events', 'live_for_apprentice')"
        ))).all())
    assert configured == {name: "plan_cache_mode=force_generic_plan" for name in (
        "contracts.append_events", "financing.append_events", "quality.append_events",
        "contracts.live_for_apprentice")}
