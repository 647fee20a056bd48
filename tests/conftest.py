import secrets
from datetime import date

import pytest
from hypothesis import settings as hypothesis_settings

from shared.clock import FixedClock

from shared.auth import create_key
from shared.db import make_engine
from tests.support import (CFA_A, CFA_B, OPCO_X, OPCO_Y, Keys, create_database, delete_session_topics,
                           drop_database, running, settings_for)


# Property and fuzz tests draw the same examples on every run (deterministic CI).
hypothesis_settings.register_profile("parcours", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("parcours")


@pytest.fixture(scope="session")
async def database_url():
    url = await create_database()
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def settings(database_url):
    return settings_for(database_url)


@pytest.fixture(scope="session", autouse=True)
async def session_topics():
    """The topics of this session's prefixes, deleted once every test has ended."""
    yield
    from shared.settings import get_settings
    await delete_session_topics(get_settings().kafka_bootstrap)


@pytest.fixture(scope="session")
async def engine(settings):
    eng = make_engine(settings)
    yield eng
    await eng.dispose()


@pytest.fixture
async def isolated():
    """A database and topic prefix of this test's own (no in-process relay or consumer of the
    session's services touches them): ``(settings, engine)``."""
    url = await create_database("iso")
    settings = settings_for(url)
    eng = make_engine(settings, pool_size=4)
    yield settings, eng
    await eng.dispose()
    await drop_database(url)


@pytest.fixture(scope="session")
async def keys(engine):
    async with engine.begin() as conn:
        made = {}
        for name, role, org in [("cfa_a", "cfa", CFA_A), ("cfa_b", "cfa", CFA_B), ("opco_x", "opco", OPCO_X),
                                ("opco_y", "opco", OPCO_Y), ("ops", "ops", "ops")]:
            made[name] = (await create_key(conn, role, org))[1]
    return Keys(**made)


@pytest.fixture(scope="session")
async def contracts(settings):
    from services.contracts.api.app import create_app
    # its scheduler never fires by itself
    async with running(create_app(settings, clock=FixedClock(date(2020, 1, 1)))) as client:
        yield client


@pytest.fixture(scope="session")
async def financing(settings):
    from services.financing.api.app import create_app
    async with running(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
async def quality(settings):
    from services.quality.api.app import create_app
    async with running(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
async def webhooks(settings):
    from services.webhooks.api.app import create_app
    async with running(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
async def served():
    """The four services as processes of their own (see tests/served.py)."""
    from tests.served import ROOT, served_stack
    async with served_stack(ROOT / "test-artifacts" / f"served-{secrets.token_hex(3)}") as stack:
        yield stack


# The stack `make run` started is never touched by the suite: when the check is collected, the
# live tables are read before any test runs and compared by the last test
# (tests/test_live_stack_untouched.py).
def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    if items and items[-1].get_closest_marker("last") is not None:
        from tests.live_stack import snapshot_when_idle
        config.live_snapshot = snapshot_when_idle()
