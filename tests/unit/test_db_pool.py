"""The connection pool's size comes from the settings: a request past the pool's connections
waits for one (up to the overflow) instead of opening and closing a connection per call."""
from shared.db import make_engine
from shared.settings import Settings


def test_the_pool_keeps_the_settings_connections():
    engine = make_engine(Settings(db_pool_size=7, db_max_overflow=3))
    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 3)


def test_a_tool_may_ask_for_a_smaller_pool_with_the_same_overflow():
    engine = make_engine(Settings(db_pool_size=7, db_max_overflow=3), pool_size=1)
    assert (engine.pool.size(), engine.pool._max_overflow) == (1, 3)


def test_the_default_pool_holds_a_service_s_concurrent_requests_and_background_workers():
    # 8 concurrent clients plus the relay's election, its reads and the scheduler used to pass 10
    # and open a connection per request past it (make bench, 2026-12-02)
    assert Settings().db_pool_size >= 16
