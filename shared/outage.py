"""Telling a dependency being down (PostgreSQL stopped, restarting, out of connections, too slow)
from a bug, and logging an outage once with its traceback, then one line per failure."""
from __future__ import annotations

import asyncio
import socket
import time

import asyncpg
import structlog
from sqlalchemy import exc as sa_exc

# PostgreSQL or the network answering "not now": the request may be retried as it is.
_UNAVAILABLE = (ConnectionError, TimeoutError, asyncio.TimeoutError, socket.gaierror,
                asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,
                asyncpg.ConnectionDoesNotExistError, asyncpg.QueryCanceledError, sa_exc.TimeoutError)
# Text PostgreSQL cannot store (NUL in JSONB, invalid bytes): the caller's input, not our bug.
_UNSTORABLE_TEXT = (asyncpg.UntranslatableCharacterError, asyncpg.CharacterNotInRepertoireError)

RETRY_AFTER_SECONDS = 5
QUIET_SECONDS = 60.0  # an outage ends after this long without a failure


def _chain(exc: BaseException):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__


def is_unavailable(exc: BaseException) -> bool:
    for e in _chain(exc):
        if isinstance(e, _UNAVAILABLE):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
    return False


def is_unstorable_text(exc: BaseException) -> bool:
    return any(isinstance(e, _UNSTORABLE_TEXT) for e in _chain(exc))


class OutageLog:
    """Logs the first failure of an outage with its traceback and every later one as one line."""

    def __init__(self, logger, clock=time.monotonic):
        self._log, self._clock, self._last_failure = logger, clock, None

    def failed(self, event: str, exc: BaseException, **fields) -> None:
        now = self._clock()
        starts = self._last_failure is None or now - self._last_failure > QUIET_SECONDS
        self._last_failure = now
        if starts:
            self._log.error(event, outage="started", exc_info=exc, **fields)
        else:
            self._log.warning(event, error=f"{type(exc).__name__}: {exc}"[:300], **fields)


outage_log = OutageLog(structlog.get_logger("dependency"))
