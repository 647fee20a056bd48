"""API keys read for each request in batches, on one connection of the process's own.

Each request's key is read from ``auth.api_keys`` by a statement sent after the request arrived,
so a key revoked before a call is refused by that call (401 at once, on every service and every
worker process): there is no cache to invalidate. What the batch saves is the rest: a request
waits for the statement in flight to end, then goes with every request that arrived meanwhile,
in one round trip on a connection that is always open (no pool checkout, no BEGIN/ROLLBACK).

With several HTTP worker processes (``PARCOURS_HTTP_WORKERS``) the same statement also spends
the keys' tokens in ``auth.rate_buckets`` (one token bucket per service and key, shared by the
workers); with one process the bucket stays in memory (shared/api/ratelimit.py).

While this connection is down (PostgreSQL restarting), ``check`` answers None and the caller
reads the key through the pool as before; the rate limit then falls back to each process's own
bucket until the connection is back (``run`` reconnects)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Callable

import asyncpg
import structlog

from kernel.access import Principal
from shared.election import wait

log = structlog.get_logger("auth")

_LOOKUP = """SELECT k.key_id, k.key_hash, k.role, k.org FROM auth.api_keys k
             WHERE k.key_id = ANY($1::text[]) AND k.revoked_at IS NULL"""
# One token bucket per (service, key): granted = the requests of the batch the bucket lets through.
# The arithmetic is RateLimiter.acquire's (shared/api/ratelimit.py) for n requests at once; a
# request whose secret does not match its key's hash spends nothing.
_AVAILABLE = "LEAST($6::float8, b.tokens + GREATEST(0, excluded.updated - b.updated) * $5::float8)"
_GRANTED = f"LEAST(excluded.granted, floor({_AVAILABLE}))"
_LOOKUP_AND_SPEND = f"""
WITH asked AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS a(key_id, key_hash, n)),
found AS (SELECT k.key_id, k.key_hash, k.role, k.org FROM auth.api_keys k
          JOIN asked a ON a.key_id = k.key_id AND a.key_hash = k.key_hash WHERE k.revoked_at IS NULL),
spent AS (
    INSERT INTO auth.rate_buckets AS b (service, key_id, tokens, updated, granted)
    SELECT $4::text, a.key_id, $6::float8 - LEAST(a.n, floor($6::float8)), $7::float8,
           LEAST(a.n, floor($6::float8))::int
    FROM asked a JOIN found f ON f.key_id = a.key_id AND f.key_hash = a.key_hash
    ON CONFLICT (service, key_id) DO UPDATE SET
        granted = ({_GRANTED})::int,
        tokens = {_AVAILABLE} - {_GRANTED},
        updated = GREATEST(b.updated, excluded.updated)
    RETURNING b.key_id, b.tokens, b.granted)
SELECT f.key_id, f.key_hash, f.role, f.org, s.tokens, s.granted FROM found f LEFT JOIN spent s USING (key_id)"""

PREFIX = "prc_"


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_id_of(raw: str) -> str | None:
    """The key id a raw key names, or None when it cannot be one of ours."""
    if not raw.startswith(PREFIX) or len(raw) < len(PREFIX) + 14 or len(raw) > 200:
        return None
    return raw[len(PREFIX):len(PREFIX) + 12]


@dataclass(frozen=True)
class Verdict:
    principal: Principal | None  # None: unknown, revoked, or a secret that does not match
    wait: float = 0.0            # > 0: over the shared rate limit, seconds until a token


@dataclass
class SharedLimit:
    """The token bucket every worker process of ``service`` spends from (auth.rate_buckets)."""
    service: str
    rate: float
    burst: int
    clock: Callable[[], float] = time.time   # wall clock: the processes must agree on it


@dataclass
class _Asked:
    key_id: str
    key_hash: str
    answers: list[asyncio.Future] = field(default_factory=list)


class KeyLookups:
    def __init__(self, dsn: str, *, shared_limit: SharedLimit | None = None, timeout: float = 15.0,
                 retry_seconds: float = 1.0):
        self.dsn, self.shared_limit, self.timeout, self.retry_seconds = dsn, shared_limit, timeout, retry_seconds
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._waiting: dict[tuple[str, str], _Asked] = {}
        self._pump: asyncio.Task | None = None
        self._attempted = asyncio.Event()

    async def opened(self, timeout: float) -> None:
        """Once the first connection attempt is over (or ``timeout``): the first requests need
        not go through the pool."""
        try:
            await asyncio.wait_for(self._attempted.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def check(self, raw: str) -> Verdict | None:
        """The key's principal (and, shared, its rate verdict), read after this call began; None
        when the connection is down (read the key another way)."""
        if self._conn is None:   # (a database outage answers 503 whatever the key, as through the pool)
            return None
        key_id = key_id_of(raw)
        if key_id is None:
            return Verdict(None)
        digest = key_hash(raw)
        answer = asyncio.get_running_loop().create_future()
        asked = self._waiting.get((key_id, digest))
        if asked is None:
            asked = self._waiting[(key_id, digest)] = _Asked(key_id, digest)
        asked.answers.append(answer)
        if self._pump is None:
            self._pump = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        """One statement at a time, each for every request that arrived before it was sent."""
        try:
            while self._waiting:
                batch, self._waiting = list(self._waiting.values()), {}
                conn = self._conn
                try:
                    if conn is None:
                        raise ConnectionError("the key lookup connection is down")
                    rows = await asyncio.wait_for(self._fetch(conn, batch), self.timeout)
                except Exception as exc:  # noqa: BLE001 - the callers fall back to the pool
                    self._down(conn, exc)
                    for asked in batch:
                        _answer_all(asked.answers, None)
                    continue
                self._distribute(batch, {r["key_id"]: r for r in rows})
        finally:
            self._pump = None

    async def _fetch(self, conn: asyncpg.Connection, batch: list[_Asked]):
        ids = [a.key_id for a in batch]
        if self.shared_limit is None:
            return await conn.fetch(_LOOKUP, ids)
        s = self.shared_limit
        return await conn.fetch(_LOOKUP_AND_SPEND, ids, [a.key_hash for a in batch],
                                [len(a.answers) for a in batch], s.service, float(s.rate), float(s.burst),
                                float(s.clock()))

    def _distribute(self, batch: list[_Asked], rows: dict) -> None:
        for asked in batch:
            row = rows.get(asked.key_id)
            if row is None or not hmac.compare_digest(row["key_hash"], asked.key_hash):
                _answer_all(asked.answers, Verdict(None))
                continue
            principal = Principal(row["key_id"], row["role"], row["org"])
            if self.shared_limit is None:
                _answer_all(asked.answers, Verdict(principal))
                continue
            granted, tokens = row["granted"] or 0, row["tokens"] or 0.0
            over = (1 - tokens) / self.shared_limit.rate
            for i, answer in enumerate(asked.answers):
                if not answer.done():
                    answer.set_result(Verdict(principal, 0.0 if i < granted else max(over, 1e-6)))

    def _down(self, conn: asyncpg.Connection | None, exc: BaseException) -> None:
        if conn is not None and self._conn is conn:
            self._conn = None
            log.warning("auth.lookups_down", error=type(exc).__name__)
            conn.terminate()
        self._lost.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the connection open until ``stop``, reconnecting after a failure."""
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5, server_settings={"application_name": "parcours-keys",
                                                                        "synchronous_commit": "off"})
            except Exception as exc:  # noqa: BLE001 - PostgreSQL down: the pool answers meanwhile
                log.debug("auth.lookups_connect_failed", error=type(exc).__name__)
                self._attempted.set()
                await wait(stop, self.retry_seconds)
                continue
            self._lost.clear()
            conn.add_termination_listener(lambda _c: self._lost.set())
            self._conn = conn
            self._attempted.set()
            try:
                await wait(stop, None, self._lost)  # until stopped or lost
            finally:
                if self._conn is conn:
                    self._conn = None
                if stop.is_set():
                    await _close(conn)
                else:
                    conn.terminate()
            if not stop.is_set():
                await wait(stop, self.retry_seconds)


def _answer_all(answers: list[asyncio.Future], verdict: Verdict | None) -> None:
    for answer in answers:
        if not answer.done():
            answer.set_result(verdict)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 2)
    except Exception:  # noqa: BLE001 - closing on the way out
        conn.terminate()
