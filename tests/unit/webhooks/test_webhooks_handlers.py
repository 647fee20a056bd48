"""The webhooks handlers (services/webhooks/application) on the in-memory unit of work: the fan-out
of a batch into deliveries (once, per endpoint that wants the type and whose owner may see it),
the due deliveries (heads of their key's queue, active endpoints only), an attempt settled
(backoff, Retry-After, 24 h then failing, resumed with a fresh window), registration and its
refusals, If-Match, secret rotation, replay, deletion."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from kernel.access import Principal
from kernel.errors import Conflict, NotFound, Refused, Stale
from services.webhooks.application import endpoints as handlers
from services.webhooks.application.fanout import fan_out, ordering_key
from services.webhooks.application.sending import CONTENT_TYPE, Response, send, settle
from services.webhooks.application.unit_of_work import Message
from services.webhooks.domain.audience import CONTRACTS_SOURCE, FINANCING_SOURCE, NOBODY
from services.webhooks.domain.endpoints import MAX_ENDPOINTS_PER_TENANT
from services.webhooks.domain.retries import backoff
from services.webhooks.domain.signing import secret_text
from shared.envelope import encode
from tests.unit.webhooks.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
UAI_A, SIRET_A, UAI_B = "0751234J", "98765432400019", "0931234L"
CFA_A, CFA_B = Principal("k-a", "cfa", UAI_A), Principal("k-b", "cfa", UAI_B)
ATLAS, AKTO = Principal("k-atlas", "opco", "ATLAS"), Principal("k-akto", "opco", "AKTO")
OPS = Principal("k-ops", "ops", "ops")
FAILED, DELIVERED = Response(500, "http_error", 12, error="HTTP 500"), Response(200, "delivered", 9)


class Resolver:
    """DNS as the test says; a host it does not know has a public address."""

    def __init__(self, table: dict[str, list[str]] | None = None):
        self.table = table or {}

    async def __call__(self, host: str) -> list[str]:
        return self.table.get(host, ["93.184.216.34"])


RESOLVE = Resolver()


@dataclass
class Transport:
    """Records each POST and answers as told."""
    answer: Response = DELIVERED
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def post(self, url, headers, body):
        self.posts.append((url, headers, body))
        return self.answer

    async def close(self):
        pass


# -- events --------------------------------------------------------------------------------------

def _ce(id_, source, type_, subject, key, data, at=NOW):
    return {"specversion": "1.0", "id": id_, "source": source, "type": type_, "subject": subject,
            "time": at.isoformat(), "partitionkey": key, "data": data}


def signed(cid, uai=UAI_A, opco="ATLAS", siret=SIRET_A, at=NOW):
    return _ce(f"{cid}-signed", CONTRACTS_SOURCE, "contract.signed", cid, f"app-{cid}",
               {"opco": opco, "training": {"cfa": {"uai": uai, "siret": siret}}}, at)


def amended(cid, opco, at=NOW):
    return _ce(f"{cid}-amended-{opco}", CONTRACTS_SOURCE, "contract.amended", cid, f"app-{cid}",
               {"changes": {"opco": opco}}, at)


def ruptured(cid, at=NOW):
    return _ce(f"{cid}-ruptured", CONTRACTS_SOURCE, "contract.ruptured", cid, f"app-{cid}", {}, at)


def invoice(uai=UAI_A, opco="ATLAS", n=1, at=NOW):
    return _ce(f"inv-{uai}-{opco}-{n}", FINANCING_SOURCE, "invoice.issued", f"invoice-{n}", f"{uai}:{opco}",
               {"cfa_siret": SIRET_A if uai == UAI_A else None}, at)


def fee(cid, at=NOW):
    return _ce(f"fee-{cid}", FINANCING_SOURCE, "fees.claimed", f"fees-app-{cid}", f"app-{cid}",
               {"contract_id": cid, "billed_contract_id": cid}, at)


async def apply(uow, *events, now=NOW) -> int:
    return await fan_out(uow, [(ce, encode(ce)) for ce in events], now)


async def register(uow, principal, types=("*",), url="https://hooks.example.org/in", key=None, now=NOW,
                   resolve=RESOLVE, allowed=()):
    endpoint, _ = await handlers.register(uow, principal, url, list(types), "ERP", now, key or bytes(32), resolve,
                                          allowed)
    return endpoint


async def received(uow, endpoint) -> list[str]:
    """The message ids of an endpoint's deliveries, in position order."""
    async with uow:
        page = await uow.deliveries.page(endpoint.endpoint_id, None, None, 1000)
    return [d.message_id for d in sorted(page, key=lambda d: (d.position, d.delivery_id))]


async def due(uow, now, per_endpoint=4, limit=100):
    async with uow:
        return await uow.deliveries.due(now, per_endpoint, limit)


def delivery(uow, delivery_id):
    return uow.tables.deliveries[delivery_id]


# -- fan-out -------------------------------------------------------------------------------------

async def test_one_delivery_per_endpoint_that_wants_the_type_and_may_see_it():
    uow = FakeUnitOfWork()
    a_contracts = await register(uow, CFA_A, ["contract.*"])
    a_money = await register(uow, CFA_A, ["invoice.*"])
    b_all = await register(uow, CFA_B, ["*"])
    atlas = await register(uow, ATLAS, ["*"])
    akto = await register(uow, AKTO, ["*"])
    ops = await register(uow, OPS, ["contract.ruptured"])

    added = await apply(uow, signed("c1"), ruptured("c1"), invoice())
    assert added == 7
    assert await received(uow, a_contracts) == ["c1-signed", "c1-ruptured"]
    assert await received(uow, a_money) == [f"inv-{UAI_A}-ATLAS-1"]
    assert await received(uow, atlas) == ["c1-signed", "c1-ruptured", f"inv-{UAI_A}-ATLAS-1"]
    assert await received(uow, ops) == ["c1-ruptured"]
    assert await received(uow, b_all) == [] and await received(uow, akto) == []
    positions = sorted(uow.tables.messages)
    assert [uow.tables.messages[p].message_id for p in positions] == ["c1-signed", "c1-ruptured",
                                                                      f"inv-{UAI_A}-ATLAS-1"]
    assert positions == sorted(set(positions)) and len(positions) == 3
    assert uow.tables.messages[positions[0]].body == encode(signed("c1"))


async def test_a_batch_applied_again_records_nothing_twice():
    uow = FakeUnitOfWork()
    a = await register(uow, CFA_A)
    batch = [signed("c1"), ruptured("c1")]
    assert await apply(uow, *batch) == 2
    messages, deliveries = dict(uow.tables.messages), dict(uow.tables.deliveries)
    assert await apply(uow, *batch) == 0
    assert uow.tables.messages == messages and uow.tables.deliveries == deliveries
    # a batch holding a kept event and a new one: only the new one is delivered
    assert await apply(uow, ruptured("c1"), signed("c2")) == 1
    assert await received(uow, a) == ["c1-signed", "c1-ruptured", "c2-signed"]
    # the topic is at least once: the same event twice in one batch is kept once
    assert await apply(uow, signed("c3"), signed("c3")) == 1
    assert (await received(uow, a)).count("c3-signed") == 1


async def test_an_endpoint_registered_later_gets_no_deliveries_of_kept_messages_but_may_replay_them():
    uow = FakeUnitOfWork()
    await apply(uow, signed("c1"))
    late = await register(uow, CFA_A)
    assert await apply(uow, signed("c1")) == 0 and await received(uow, late) == []
    answer = await handlers.replay(uow, CFA_A, late.endpoint_id, 1, None, NOW)
    assert answer["deliveries"] == 1 and await received(uow, late) == ["c1-signed"]


async def test_an_amendment_changing_the_opco_moves_the_next_events_to_the_new_opco():
    uow = FakeUnitOfWork()
    atlas, akto, a = await register(uow, ATLAS), await register(uow, AKTO), await register(uow, CFA_A)
    await apply(uow, signed("c1"))
    await apply(uow, amended("c1", "AKTO"))      # another batch: the parties were kept
    await apply(uow, ruptured("c1"))
    assert await received(uow, atlas) == ["c1-signed"]
    assert await received(uow, akto) == ["c1-amended-AKTO", "c1-ruptured"]
    assert await received(uow, a) == ["c1-signed", "c1-amended-AKTO", "c1-ruptured"]


async def test_a_fee_event_goes_to_the_parties_of_its_contract():
    uow = FakeUnitOfWork()
    a, b = await register(uow, CFA_A, ["fees.*"]), await register(uow, CFA_B, ["fees.*"])
    akto, atlas = await register(uow, AKTO, ["fees.claimed"]), await register(uow, ATLAS, ["fees.claimed"])
    await apply(uow, signed("c1", opco="AKTO"))
    assert await apply(uow, fee("c1")) == 2
    assert await received(uow, a) == ["fee-c1"] and await received(uow, akto) == ["fee-c1"]
    assert await received(uow, b) == [] and await received(uow, atlas) == []


async def test_another_tenant_receives_nothing():
    uow = FakeUnitOfWork()
    b, b_siret = await register(uow, CFA_B), await register(uow, Principal("k", "cfa", "11111111100011"))
    await apply(uow, signed("c1"), ruptured("c1"), invoice(), fee("c1"))
    assert await received(uow, b) == [] and await received(uow, b_siret) == []
    assert uow.tables.deliveries == {}


async def test_a_paused_endpoint_gets_its_deliveries_recorded_but_not_due_until_resumed():
    uow = FakeUnitOfWork()
    paused, active = await register(uow, CFA_A), await register(uow, ATLAS)
    await handlers.change(uow, CFA_A, paused.endpoint_id, 1, NOW, RESOLVE, (), status="paused")
    assert await apply(uow, signed("c1")) == 2
    assert await received(uow, paused) == ["c1-signed"]
    assert [d.endpoint_id for d in await due(uow, NOW + timedelta(hours=1))] == [active.endpoint_id]
    later = NOW + timedelta(hours=2)
    resumed = await handlers.change(uow, CFA_A, paused.endpoint_id, 2, later, RESOLVE, (), status="active")
    assert resumed.status == "active" and resumed.version == 3
    assert {d.endpoint_id for d in await due(uow, later)} == {paused.endpoint_id, active.endpoint_id}


# -- due deliveries ------------------------------------------------------------------------------

async def test_only_the_head_of_each_key_is_due_and_each_endpoint_has_its_share():
    uow = FakeUnitOfWork()
    a, atlas = await register(uow, CFA_A), await register(uow, ATLAS, ["contract.signed"])
    await apply(uow, signed("c1"), ruptured("c1"), signed("c2"), ruptured("c2"), signed("c3"))
    heads = await due(uow, NOW)
    assert sorted((d.endpoint_id == a.endpoint_id, d.message_id) for d in heads) == [
        (False, "c1-signed"), (False, "c2-signed"), (False, "c3-signed"),
        (True, "c1-signed"), (True, "c2-signed"), (True, "c3-signed")]
    assert {d.ordering_key for d in heads} == {ordering_key(signed(c)) for c in ("c1", "c2", "c3")}
    capped = await due(uow, NOW, per_endpoint=2)
    assert sorted(d.endpoint_id == a.endpoint_id for d in capped) == [False, False, True, True]
    assert len(await due(uow, NOW, limit=3)) == 3
    assert await due(uow, NOW - timedelta(seconds=1)) == []   # recorded at NOW: not due before
    head = next(d for d in heads if d.endpoint_id == a.endpoint_id and d.message_id == "c1-signed")
    assert head.url == a.url and head.body == encode(signed("c1")) and head.keys == (bytes(32),)
    assert (head.attempts, head.first_failed_at) == (0, None)


async def test_a_failed_attempt_is_retried_after_its_backoff_and_holds_its_key():
    uow = FakeUnitOfWork()
    a = await register(uow, CFA_A, ["contract.*"])
    await apply(uow, signed("c1"), ruptured("c1"))
    [first] = await due(uow, NOW)
    assert first.message_id == "c1-signed"

    attempt = await settle(uow, first, FAILED, NOW, 0.5)
    assert (attempt.attempt, attempt.outcome, attempt.status_code) == (1, "http_error", 500)
    assert attempt.next_attempt_at == NOW + backoff(1, 0.5) == NOW + timedelta(seconds=5)
    row = delivery(uow, first.delivery_id)
    assert (row.status, row.attempts, row.first_failed_at, row.next_attempt_at) == (
        "pending", 1, NOW, NOW + timedelta(seconds=5))
    assert await due(uow, NOW + timedelta(seconds=4)) == []   # neither it nor the next of its key
    [again] = await due(uow, NOW + timedelta(seconds=5))
    assert (again.delivery_id, again.attempts, again.first_failed_at) == (first.delivery_id, 1, NOW)

    t = NOW + timedelta(seconds=5)
    throttled = await settle(uow, again, Response(429, "http_error", 3, retry_after="60"), t, 0.5)
    assert throttled.next_attempt_at == t + timedelta(seconds=60)
    assert (delivery(uow, first.delivery_id)).first_failed_at == NOW   # the window runs from the first failure
    [third] = await due(uow, t + timedelta(seconds=60))
    assert (third.delivery_id, third.attempts) == (first.delivery_id, 2)

    t += timedelta(seconds=60)
    done = await settle(uow, third, DELIVERED, t, 0.5)
    assert (done.attempt, done.next_attempt_at) == (3, None)
    row = delivery(uow, first.delivery_id)
    assert (row.status, row.delivered_at, row.attempts) == ("delivered", t, 3)
    [following] = await due(uow, t)
    assert following.message_id == "c1-ruptured" and following.attempts == 0
    page = await handlers.deliveries(uow, CFA_A, a.endpoint_id, "delivered", None, 10)
    assert [(h.attempt, h.outcome) for h in page[0].history] == [(1, "http_error"), (2, "http_error"),
                                                                 (3, "delivered")]
    assert page[0].next_attempt_at is None
    _, health = await handlers.one(uow, CFA_A, a.endpoint_id, t)
    assert (health.pending, health.oldest_pending_at, health.last_attempt_at, health.last_outcome) == (
        1, NOW, t, "delivered")
    async with uow:
        assert await uow.deliveries.oldest_pending(t) == {a.endpoint_id: (t - NOW).total_seconds()}


async def test_after_24_hours_of_failures_the_endpoint_is_failing_until_resumed_with_a_fresh_window():
    uow = FakeUnitOfWork()
    a, other = await register(uow, CFA_A), await register(uow, ATLAS)
    await apply(uow, signed("c1"))
    t = NOW
    while True:
        [d] = [d for d in await due(uow, t) if d.endpoint_id == a.endpoint_id]
        attempt = await settle(uow, d, FAILED, t, 0.5)
        status = uow.tables.endpoints[a.endpoint_id].status
        if t - NOW >= timedelta(hours=24):
            break
        assert status == "active", f"failing after {t - NOW}"
        t = attempt.next_attempt_at
    failing = uow.tables.endpoints[a.endpoint_id]
    assert (failing.status, failing.failing_since, failing.version) == ("failing", t, 2)
    assert (delivery(uow, d.delivery_id)).status == "pending"
    assert [d.endpoint_id for d in await due(uow, t + timedelta(days=2))] == [other.endpoint_id]
    await apply(uow, ruptured("c1", at=t), now=t)              # still recorded, still not due
    assert await received(uow, a) == ["c1-signed", "c1-ruptured"]
    assert a.endpoint_id not in {d.endpoint_id for d in await due(uow, t + timedelta(days=2))}

    resumed_at = t + timedelta(days=1)
    with pytest.raises(Stale):
        await handlers.change(uow, CFA_A, a.endpoint_id, 1, resumed_at, RESOLVE, (), status="active")
    resumed = await handlers.change(uow, CFA_A, a.endpoint_id, 2, resumed_at, RESOLVE, (), status="active")
    assert (resumed.status, resumed.failing_since, resumed.version) == ("active", None, 3)
    [head] = [x for x in await due(uow, resumed_at) if x.endpoint_id == a.endpoint_id]
    assert (head.delivery_id, head.first_failed_at, head.attempts) == (d.delivery_id, None, attempt.attempt)
    await settle(uow, head, FAILED, resumed_at, 0.5)           # a fresh window: not failing at once
    assert uow.tables.endpoints[a.endpoint_id].status == "active"
    assert (delivery(uow, d.delivery_id)).first_failed_at == resumed_at


async def test_a_delivery_throttled_many_times_then_failing_is_still_scheduled():
    uow = FakeUnitOfWork()
    a = await register(uow, CFA_A)
    await apply(uow, signed("c1"))
    t = NOW
    for _ in range(44):   # a receiver answering 429 with Retry-After: 1 for a while
        [d] = await due(uow, t)
        t = (await settle(uow, d, Response(429, "http_error", 1, retry_after="1"), t, 0.5)).next_attempt_at
    [d] = await due(uow, t)
    attempt = await settle(uow, d, FAILED, t, 0.5)                # then a 500, without Retry-After
    assert timedelta(minutes=48) <= attempt.next_attempt_at - t <= timedelta(minutes=72)
    assert uow.tables.endpoints[a.endpoint_id].status == "active"


async def test_an_address_that_moved_inside_is_refused_at_attempt_time_and_retried():
    uow = FakeUnitOfWork()
    await register(uow, CFA_A, url="https://erp.example-cfa.fr/in")
    await apply(uow, signed("c1"))
    [d] = await due(uow, NOW)
    transport = Transport()
    response = await send(transport, Resolver({"erp.example-cfa.fr": ["10.0.0.9"]}), (), d, int(time.time()))
    assert (response.outcome, response.status) == ("refused_address", None) and "10.0.0.9" in response.error
    assert transport.posts == []
    attempt = await settle(uow, d, response, NOW, 0.5)
    assert attempt.outcome == "refused_address" and attempt.next_attempt_at == NOW + timedelta(seconds=5)


# -- registering and changing --------------------------------------------------------------------

async def test_register_shows_the_secret_once_and_stores_its_key():
    uow = FakeUnitOfWork()
    key = bytes(range(32))
    endpoint, secret = await handlers.register(uow, CFA_A, "https://hooks.example.org/in", ["contract.*", "contract.*"],
                                               "ERP", NOW, key, RESOLVE, ())
    assert secret == secret_text(key)
    assert (endpoint.owner_role, endpoint.owner_org, endpoint.status, endpoint.version) == ("cfa", UAI_A, "active", 1)
    assert endpoint.event_types == ("contract.*",)
    assert [k.key for k in uow.tables.keys] == [key] and uow.commits == 1


async def test_register_refuses_an_internal_url():
    uow = FakeUnitOfWork()
    resolve = Resolver({"hooks.example.org": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(Refused) as refused:
        await register(uow, CFA_A, resolve=resolve)
    assert refused.value.code == "webhook-refused"
    assert [e["code"] for e in refused.value.errors] == ["webhook_url_internal"]
    assert uow.tables.endpoints == {} and uow.tables.keys == []
    # the operator's allowed host passes, internal or not
    assert (await register(uow, CFA_A, resolve=resolve, allowed=("hooks.example.org",))).status == "active"


async def test_register_refuses_an_unknown_event_type_and_plain_http():
    uow = FakeUnitOfWork()
    with pytest.raises(Refused) as refused:
        await register(uow, CFA_A, ["contract.*", "contract.exploded"])
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("event_types.1", "unknown_event_type")]
    with pytest.raises(Refused) as refused:
        await register(uow, CFA_A, url="http://hooks.example.org/in")
    assert [e["code"] for e in refused.value.errors] == ["webhook_url_not_https"]
    assert uow.tables.endpoints == {}


async def test_a_21st_endpoint_is_refused():
    uow = FakeUnitOfWork()
    for _ in range(MAX_ENDPOINTS_PER_TENANT):
        await register(uow, CFA_A)
    with pytest.raises(Conflict) as limit:
        await register(uow, CFA_A)
    assert limit.value.code == "webhook-limit"
    assert sum(1 for e in uow.tables.endpoints.values() if e.owner_org == UAI_A) == MAX_ENDPOINTS_PER_TENANT == 20
    assert (await register(uow, CFA_B)).owner_org == UAI_B   # the limit is per organisation


async def test_a_stale_if_match_is_refused_with_the_current_version():
    uow = FakeUnitOfWork()
    e = await register(uow, CFA_A)
    changed = await handlers.change(uow, CFA_A, e.endpoint_id, 1, NOW, RESOLVE, (), description="v2",
                                    event_types=["invoice.*"])
    assert (changed.version, changed.description, changed.event_types) == (2, "v2", ("invoice.*",))
    with pytest.raises(Stale) as stale:
        await handlers.change(uow, CFA_A, e.endpoint_id, 1, NOW, RESOLVE, (), description="lost")
    assert stale.value.code == "precondition-failed" and stale.value.extra["current_version"] == 2
    with pytest.raises(Stale):
        await handlers.delete(uow, CFA_A, e.endpoint_id, 1)
    assert uow.tables.endpoints[e.endpoint_id].description == "v2"
    # no If-Match: the change applies
    assert (await handlers.change(uow, CFA_A, e.endpoint_id, None, NOW, RESOLVE, (), description="v3")).version == 3


async def test_a_change_of_url_is_checked_like_a_registration():
    uow = FakeUnitOfWork()
    e = await register(uow, CFA_A)
    with pytest.raises(Refused) as refused:
        await handlers.change(uow, CFA_A, e.endpoint_id, 1, NOW, Resolver({"erp.lan": ["192.168.0.10"]}), (),
                              url="https://erp.lan/in")
    assert [x["code"] for x in refused.value.errors] == ["webhook_url_internal"]
    assert uow.tables.endpoints[e.endpoint_id].url == e.url and uow.tables.endpoints[e.endpoint_id].version == 1


async def test_another_tenant_finds_no_endpoint_ops_see_all():
    uow = FakeUnitOfWork()
    e = await register(uow, CFA_A)
    for call in (lambda: handlers.change(uow, CFA_B, e.endpoint_id, None, NOW, RESOLVE, (), status="paused"),
                 lambda: handlers.delete(uow, CFA_B, e.endpoint_id, None),
                 lambda: handlers.rotate_secret(uow, CFA_B, e.endpoint_id, NOW, bytes(32)),
                 lambda: handlers.replay(uow, CFA_B, e.endpoint_id, 1, None, NOW),
                 lambda: handlers.one(uow, ATLAS, e.endpoint_id, NOW),
                 lambda: handlers.deliveries(uow, Principal("k", "opco", UAI_A), e.endpoint_id, None, None, 10)):
        with pytest.raises(NotFound):
            await call()
    assert [x.endpoint_id for x, _ in await handlers.listing(uow, CFA_B, NOW)] == []
    assert [x.endpoint_id for x, _ in await handlers.listing(uow, CFA_A, NOW)] == [e.endpoint_id]
    assert [x.endpoint_id for x, _ in await handlers.listing(uow, OPS, NOW)] == [e.endpoint_id]
    assert (await handlers.one(uow, OPS, e.endpoint_id, NOW))[0] == e


async def test_deleting_an_endpoint_drops_its_keys_deliveries_and_attempts():
    uow = FakeUnitOfWork()
    gone, kept = await register(uow, CFA_A), await register(uow, ATLAS)
    await apply(uow, signed("c1"), ruptured("c1"))
    [d] = [d for d in await due(uow, NOW) if d.endpoint_id == gone.endpoint_id]
    await settle(uow, d, FAILED, NOW, 0.5)
    await handlers.delete(uow, CFA_A, gone.endpoint_id, 1)
    assert gone.endpoint_id not in uow.tables.endpoints
    assert {x.endpoint_id for x in uow.tables.deliveries.values()} == {kept.endpoint_id}
    assert d.delivery_id not in uow.tables.attempts
    assert {k.endpoint_id for k in uow.tables.keys} == {kept.endpoint_id}
    assert len(uow.tables.messages) == 2   # the messages stay, for the others and for replays
    with pytest.raises(NotFound):
        await handlers.one(uow, CFA_A, gone.endpoint_id, NOW)


# -- secret rotation -----------------------------------------------------------------------------

async def test_rotation_keeps_the_old_secret_valid_for_24_hours():
    uow = FakeUnitOfWork()
    old, new = bytes(range(32)), bytes(range(100, 132))
    e = await register(uow, CFA_A, key=old)
    await apply(uow, signed("c1"))
    rotated_at = NOW + timedelta(hours=1)
    rotated, secret, until = await handlers.rotate_secret(uow, CFA_A, e.endpoint_id, rotated_at, new)
    assert secret == secret_text(new) and until == rotated_at + timedelta(hours=24)
    assert (rotated.version, rotated.updated_at) == (2, rotated_at)
    assert uow.tables.endpoints[e.endpoint_id].version == 2

    async def sent_at(now):
        [d] = await due(uow, now)
        transport = Transport()
        await send(transport, RESOLVE, (), d, int(time.time()))
        [(url, headers, body)] = transport.posts
        assert url == e.url and headers["content-type"] == CONTENT_TYPE and body == encode(signed("c1"))
        return d, headers, body

    d, headers, body = await sent_at(until - timedelta(seconds=1))
    assert d.keys == (new, old)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for s in (secret_text(old), secret_text(new)):
        assert Webhook(s).verify(body, headers)["id"] == "c1-signed"
    assert headers["webhook-id"] == "c1-signed"

    d, headers, body = await sent_at(until)
    assert d.keys == (new,)
    assert Webhook(secret_text(new)).verify(body, headers)["id"] == "c1-signed"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(old)).verify(body, headers)


# -- replay --------------------------------------------------------------------------------------

MINUTE = timedelta(minutes=1)


async def history(uow):
    """Six messages at one minute intervals, positions 1 to 6: CFA A's c1 (ATLAS), CFA B's c2 (AKTO)."""
    await apply(uow, signed("c1", at=NOW), signed("c2", uai=UAI_B, opco="AKTO", siret=None, at=NOW + MINUTE),
                invoice(at=NOW + 2 * MINUTE), ruptured("c1", at=NOW + 3 * MINUTE),
                ruptured("c2", at=NOW + 4 * MINUTE), fee("c1", at=NOW + 5 * MINUTE))
    assert sorted(uow.tables.messages) == [1, 2, 3, 4, 5, 6]


async def replayed(uow, endpoint, replay_id) -> list[int]:
    return sorted(d.position for d in uow.tables.deliveries.values()
                  if d.endpoint_id == endpoint.endpoint_id and d.replay_id == replay_id)


async def test_replay_enqueues_in_order_only_what_the_owner_may_see():
    uow = FakeUnitOfWork()
    await history(uow)
    a, b = await register(uow, CFA_A), await register(uow, CFA_B)
    atlas, a_contracts = await register(uow, ATLAS), await register(uow, CFA_A, ["contract.*"])
    assert uow.tables.deliveries == {}

    answer = await handlers.replay(uow, CFA_A, a.endpoint_id, 1, None, NOW + MINUTE * 10)
    assert answer == {"replay_id": 1, "from_position": 1, "deliveries": 4, "last_position": 6, "complete": True}
    assert await replayed(uow, a, 1) == [1, 3, 4, 6]
    rows = sorted((d for d in uow.tables.deliveries.values() if d.replay_id == 1), key=lambda d: d.delivery_id)
    assert [d.position for d in rows] == [1, 3, 4, 6]      # recorded in position order
    assert all(d.status == "pending" and d.next_attempt_at == NOW + MINUTE * 10 for d in rows)

    assert (await handlers.replay(uow, CFA_B, b.endpoint_id, 1, None, NOW))["deliveries"] == 2
    assert await replayed(uow, b, 2) == [2, 5]
    assert (await handlers.replay(uow, ATLAS, atlas.endpoint_id, 1, None, NOW))["last_position"] == 6
    assert await replayed(uow, atlas, 3) == [1, 3, 4, 6]
    # the endpoint's types, from a later position
    answer = await handlers.replay(uow, CFA_A, a_contracts.endpoint_id, 2, None, NOW)
    assert (answer["deliveries"], answer["last_position"]) == (1, 4) and await replayed(uow, a_contracts, 4) == [4]


async def test_replay_from_a_time_again_and_past_the_end():
    uow = FakeUnitOfWork()
    await history(uow)
    a = await register(uow, CFA_A)
    answer = await handlers.replay(uow, CFA_A, a.endpoint_id, None, NOW + 2 * MINUTE + timedelta(seconds=1), NOW)
    assert (answer["from_position"], answer["deliveries"], answer["last_position"], answer["complete"]) == (
        4, 2, 6, True)
    again = await handlers.replay(uow, CFA_A, a.endpoint_id, 4, None, NOW)
    assert again["replay_id"] == answer["replay_id"] + 1 and again["deliveries"] == 2
    assert await replayed(uow, a, answer["replay_id"]) == await replayed(uow, a, again["replay_id"]) == [4, 6]
    nothing = await handlers.replay(uow, CFA_A, a.endpoint_id, None, NOW + timedelta(days=1), NOW)
    assert nothing == {"replay_id": again["replay_id"] + 1, "from_position": 7, "deliveries": 0,
                       "last_position": None, "complete": True}


async def test_ops_replaying_an_endpoint_enqueue_what_its_owner_may_see_not_theirs():
    uow = FakeUnitOfWork()
    await history(uow)
    b = await register(uow, CFA_B)
    answer = await handlers.replay(uow, OPS, b.endpoint_id, 1, None, NOW)
    assert answer["deliveries"] == 2 and await replayed(uow, b, answer["replay_id"]) == [2, 5]


async def test_a_replayed_delivery_waits_behind_the_pending_one_of_its_key():
    uow = FakeUnitOfWork()
    a = await register(uow, CFA_A, ["contract.*"])
    await apply(uow, signed("c1"), ruptured("c1"))
    await handlers.replay(uow, CFA_A, a.endpoint_id, 1, None, NOW)
    [head] = await due(uow, NOW)
    assert head.message_id == "c1-signed" and uow.tables.deliveries[head.delivery_id].replay_id == 0
    await settle(uow, head, DELIVERED, NOW, 0.5)
    [head] = await due(uow, NOW)
    assert head.message_id == "c1-signed" and uow.tables.deliveries[head.delivery_id].replay_id == 1


# -- the fake's transaction ----------------------------------------------------------------------

async def test_a_unit_left_without_commit_keeps_nothing_but_the_sequences_move_on():
    uow = FakeUnitOfWork()
    await apply(uow, signed("c1"))
    async with uow:
        await uow.messages.add([])
        positions = await uow.messages.add([Message("x", "contract.signed", "k", NOW, NOBODY, b"{}")])
        assert positions == {"x": 2}
    assert sorted(uow.tables.messages) == [1]
    await apply(uow, signed("c2"))
    assert sorted(uow.tables.messages) == [1, 3]   # an identity column gives no number back
