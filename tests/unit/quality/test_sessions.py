"""The dashboard's login against in-memory ports: a CFA key opens a session of 8 hours, stored
by the token's SHA-256; an expired session, a revoked key, another role's key open nothing."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from services.quality.application.sessions import SESSION_HOURS, log_in, log_out, session_principal
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import CFA, OPCO

NOW = datetime(2025, 7, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
def uow():
    unit = FakeUnitOfWork()
    unit.tables.keys.update({"prc_cfa": CFA, "prc_opco": OPCO})
    return unit


async def test_a_cfa_key_opens_a_session_kept_hashed_for_8_hours(uow):
    token = await log_in(uow, "prc_cfa", NOW)
    assert token and len(token) >= 43 and uow.commits == 1
    assert uow.tables.sessions == {hashlib.sha256(token.encode()).hexdigest(): (CFA.key_id, NOW + timedelta(hours=8))}
    assert SESSION_HOURS == 8
    assert await session_principal(uow, token, NOW + timedelta(hours=7, minutes=59)) == CFA
    assert await session_principal(uow, token, NOW + timedelta(hours=8)) is None


@pytest.mark.parametrize("key", ["", "prc_opco", "prc_unknown"])
async def test_no_session_for_an_empty_unknown_or_non_cfa_key(uow, key):
    assert await log_in(uow, key, NOW) is None
    assert uow.tables.sessions == {} and uow.commits == 0


async def test_a_revoked_key_opens_nothing_and_ends_its_sessions(uow):
    token = await log_in(uow, "prc_cfa", NOW)
    uow.tables.revoked.add(CFA.key_id)
    assert await session_principal(uow, token, NOW) is None
    assert await log_in(uow, "prc_cfa", NOW) is None


async def test_logging_out_forgets_the_session(uow):
    token = await log_in(uow, "prc_cfa", NOW)
    other = await log_in(uow, "prc_cfa", NOW)
    await log_out(uow, token)
    assert await session_principal(uow, token, NOW) is None
    assert await session_principal(uow, other, NOW) == CFA
    await log_out(uow, None)
    await log_out(uow, "never-issued")
    assert len(uow.tables.sessions) == 1


@pytest.mark.parametrize("token", [None, "", "forged"])
async def test_no_principal_without_a_live_session(uow, token):
    assert await session_principal(uow, token, NOW) is None
