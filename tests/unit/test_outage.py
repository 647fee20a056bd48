"""Telling a dependency being down from a bug, and logging an outage once with its traceback."""
import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from shared.outage import QUIET_SECONDS, OutageLog, is_unavailable, is_unstorable_text


class Recorder:
    def __init__(self):
        self.lines = []

    def error(self, event, **fields):
        self.lines.append(("error", event, fields))

    def warning(self, event, **fields):
        self.lines.append(("warning", event, fields))


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", {}, orig)


@pytest.mark.parametrize("exc", [ConnectionRefusedError(111, "refused"), asyncpg.CannotConnectNowError("starting up"),
                                 wrapped(asyncpg.AdminShutdownError("terminating")), TimeoutError(),
                                 sa_exc.TimeoutError("QueuePool limit")])
def test_a_database_that_does_not_answer_is_an_outage(exc):
    assert is_unavailable(exc)


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("x"), wrapped(asyncpg.UniqueViolationError("dup"))])
def test_a_bug_or_a_constraint_is_not_an_outage(exc):
    assert not is_unavailable(exc)


def test_text_postgresql_cannot_store_is_the_callers_input():
    assert is_unstorable_text(wrapped(asyncpg.UntranslatableCharacterError("unsupported Unicode escape")))
    assert not is_unstorable_text(ValueError("x"))


def test_an_outage_is_logged_once_with_its_traceback_then_one_line_per_failure():
    now = [0.0]
    recorder = Recorder()
    outage = OutageLog(recorder, clock=lambda: now[0])
    for _ in range(3):
        outage.failed("api.dependency_unavailable", ConnectionRefusedError(111, "refused"))
        now[0] += 1
    now[0] += QUIET_SECONDS + 1  # a quiet minute: the next failure starts a new outage
    outage.failed("api.dependency_unavailable", ConnectionRefusedError(111, "refused"))
    levels = [(level, "exc_info" in fields) for level, _, fields in recorder.lines]
    assert levels == [("error", True), ("warning", False), ("warning", False), ("error", True)]
