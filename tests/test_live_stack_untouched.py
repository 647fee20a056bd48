"""`make test` leaves the database of the stack `make run` started as it found it: every test
runs on services, databases and topics of its own (issue 13)."""
import pytest

from tests.live_stack import snapshot


@pytest.mark.last
async def test_the_live_database_is_identical_after_the_suite(request):
    before = request.config.live_snapshot
    after = await snapshot()
    if before is None:
        assert after is None, "a live database appeared during the run"
        return
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, f"the suite changed the live database: {changed}"
