"""Key lookups in batches (shared/api/key_lookups.py) over a scripted connection: a request's key
is read by a statement sent after the request arrived (the calls that arrive during a lookup go
in the next one), a secret must match its key's hash, the shared bucket's grant is shared out in
arrival order, and a failed lookup sends the callers to the pool. The SQL itself runs against
PostgreSQL in tests/integration/test_key_cache.py."""
import asyncio

from shared.api.key_lookups import KeyLookups, SharedLimit, key_hash

KEY_A = "prc_aaaaaaaaaaaa_" + "s" * 43
KEY_B = "prc_bbbbbbbbbbbb_" + "t" * 43


class ScriptedConnection:
    """Answers each fetch with the keys it knows, once ``release`` lets the statement end."""

    def __init__(self, known: dict[str, str], bucket: dict | None = None):
        self.known, self.bucket = known, bucket or {}
        self.sent: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def fetch(self, _sql, key_ids, *rest):
        self.sent.append(list(key_ids))
        await self.release.wait()
        if self.fail:
            raise ConnectionResetError("connection lost")
        rows = []
        for raw in self.known.values():
            kid = raw[4:16]
            if kid in key_ids:
                rows.append({"key_id": kid, "key_hash": key_hash(raw), "role": "cfa", "org": "0751234J",
                             **self.bucket.get(kid, {})})
        return rows

    def terminate(self):
        pass


def lookups_over(conn, shared=None) -> KeyLookups:
    lookups = KeyLookups("postgresql://unused", shared_limit=shared)
    lookups._conn = conn
    return lookups


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_calls_arriving_during_a_lookup_go_together_in_the_next_one():
    conn = ScriptedConnection({"a": KEY_A, "b": KEY_B})
    lookups = lookups_over(conn)
    first = asyncio.create_task(lookups.check(KEY_A))
    await settle()
    assert conn.sent == [["aaaaaaaaaaaa"]]          # in flight
    later = [asyncio.create_task(lookups.check(k)) for k in (KEY_B, KEY_A, KEY_B)]
    await settle()
    assert conn.sent == [["aaaaaaaaaaaa"]]          # they wait: that statement was sent before them
    conn.release.set()
    verdicts = [await first] + [await t for t in later]
    assert conn.sent == [["aaaaaaaaaaaa"], ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]]
    assert [v.principal.key_id for v in verdicts] == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "aaaaaaaaaaaa", "bbbbbbbbbbbb"]


async def test_a_secret_that_does_not_match_the_hash_is_refused():
    conn = ScriptedConnection({"a": KEY_A})
    conn.release.set()
    lookups = lookups_over(conn)
    forged = KEY_A[:-1] + "x"
    assert (await lookups.check(forged)).principal is None
    assert (await lookups.check(KEY_A)).principal.org == "0751234J"
    assert (await lookups.check("prc_short")).principal is None


async def test_the_shared_bucket_grant_goes_to_the_first_arrived_calls():
    conn = ScriptedConnection({"a": KEY_A}, bucket={"aaaaaaaaaaaa": {"granted": 1, "tokens": 0.2}})
    lookups = lookups_over(conn, SharedLimit("contracts", rate=5, burst=10, clock=lambda: 1000.0))
    calls = [asyncio.create_task(lookups.check(KEY_A)) for _ in range(3)]
    await settle()
    conn.release.set()
    waits = [(await c).wait for c in calls]
    assert waits[0] == 0 and all(abs(w - 0.8 / 5) < 1e-9 for w in waits[1:])


async def test_a_failed_lookup_sends_its_callers_to_the_pool_and_the_next_ones_too():
    conn = ScriptedConnection({"a": KEY_A})
    conn.fail = True
    conn.release.set()
    lookups = lookups_over(conn)
    assert await lookups.check(KEY_A) is None
    assert not lookups.connected
    assert await lookups.check(KEY_A) is None
