"""The webhooks service's pure rules (services/webhooks/domain): the Standard Webhooks signature as
the specification's own library verifies it, the retry schedule (backoff, jitter, Retry-After, the
24 h window), the URLs a tenant may register, the event types it may ask for, and who may
receive an event (the tenancy rule of kernel/access.py over the parties an event names)."""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contract_events.catalogue import CATALOGUE
from contract_events.financing_catalogue import FINANCING_CATALOGUE
from kernel.access import Principal
from services.webhooks.application.endpoints import url_problems
from services.webhooks.domain import retries
from services.webhooks.domain.audience import (CONTRACTS_SOURCE, FINANCING_SOURCE, NOBODY, Parties, learned,
                                               may_receive, parties_key)
from services.webhooks.domain.endpoints import (ALL, EVENT_TYPES, MAX_URL_LENGTH, expand, internal, parse_target,
                                                selection_problems)
from services.webhooks.domain.signing import SECRET_BYTES, delivery_headers, secret_text, signature

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
UAI_A, SIRET_A, UAI_B, SIRET_B = "0751234J", "98765432400019", "0931234L", "12345678900011"
CFA_A, CFA_A_BY_SIRET = Principal("k1", "cfa", UAI_A), Principal("k2", "cfa", SIRET_A)
CFA_B, CFA_B_BY_SIRET = Principal("k3", "cfa", UAI_B), Principal("k4", "cfa", SIRET_B)
ATLAS, AKTO, OPS = Principal("k5", "opco", "ATLAS"), Principal("k6", "opco", "AKTO"), Principal("k7", "ops", "ops")


# -- signing -------------------------------------------------------------------------------------

KEY_OLD, KEY_NEW, KEY_OTHER = bytes(range(32)), bytes(range(32, 64)), b"\x07" * SECRET_BYTES
BODY = json.dumps({"specversion": "1.0", "id": "m-1", "type": "contract.signed", "data": {"é": "ü"}},
                  ensure_ascii=False).encode()


def signed_headers(keys: list[bytes], body: bytes = BODY, message_id: str = "m-1") -> dict[str, str]:
    # standardwebhooks checks the timestamp against the real clock (5 minutes of tolerance)
    return delivery_headers(keys, message_id, int(time.time()), body)


def test_the_secret_is_whsec_and_base64_of_the_key():
    text = secret_text(KEY_NEW)
    assert text.startswith("whsec_") and base64.b64decode(text[len("whsec_"):]) == KEY_NEW
    assert SECRET_BYTES == 32


def test_a_delivery_signed_with_the_endpoint_secret_verifies_with_the_standard_webhooks_library():
    headers = signed_headers([KEY_NEW])
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "m-1" and headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret_text(KEY_NEW)).verify(BODY, headers) == json.loads(BODY)


def test_during_a_rotation_both_secrets_verify_newest_signature_first():
    headers = signed_headers([KEY_NEW, KEY_OLD])
    parts = headers["webhook-signature"].split(" ")
    ts = int(headers["webhook-timestamp"])
    assert parts == [signature(KEY_NEW, "m-1", ts, BODY), signature(KEY_OLD, "m-1", ts, BODY)]
    assert Webhook(secret_text(KEY_NEW)).verify(BODY, headers)["id"] == "m-1"
    assert Webhook(secret_text(KEY_OLD)).verify(BODY, headers)["id"] == "m-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(KEY_OTHER)).verify(BODY, headers)


def test_a_wrong_secret_a_changed_body_or_another_id_fail():
    headers = signed_headers([KEY_NEW])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(KEY_OTHER)).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(KEY_NEW)).verify(BODY.replace(b"m-1", b"m-2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(KEY_NEW)).verify(BODY, {**headers, "webhook-id": "m-2"})


@given(key=st.binary(min_size=24, max_size=64), message_id=st.text(min_size=1, max_size=40).filter(
    lambda s: s.isprintable() and "\n" not in s), body=st.dictionaries(st.text(max_size=10), st.integers()))
def test_any_key_and_body_verify_with_the_library(key, message_id, body):
    raw = json.dumps(body).encode()
    headers = delivery_headers([key], message_id, int(time.time()), raw)
    assert Webhook(secret_text(key)).verify(raw, headers) == body


# -- retries -------------------------------------------------------------------------------------

def test_backoff_doubles_from_five_seconds_and_is_capped_at_an_hour():
    nominal = [retries.backoff(n, 0.5) for n in range(1, 14)]
    assert nominal[:4] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert all(a <= b for a, b in zip(nominal, nominal[1:]))
    assert nominal[-1] == retries.MAX_DELAY == timedelta(hours=1)
    assert retries.backoff(30, 0.5) == timedelta(hours=1)


@given(attempts=st.integers(min_value=1, max_value=500), draw=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_jitter_stays_within_twenty_percent_of_the_capped_nominal_delay(attempts, draw):
    nominal = min(timedelta(seconds=5) * 2 ** min(attempts - 1, 20), timedelta(hours=1))
    delay = retries.backoff(attempts, draw)
    assert nominal * 0.8 <= delay <= nominal * 1.2
    assert timedelta(seconds=4) <= delay <= timedelta(hours=1) * 1.2


@given(attempts=st.integers(min_value=1, max_value=500), draw=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_for_one_draw_the_delay_never_shrinks_with_more_attempts(attempts, draw):
    assert retries.backoff(attempts, draw) <= retries.backoff(attempts + 1, draw)


@pytest.mark.parametrize("attempts", [45, 60, 500])
def test_backoff_stays_capped_however_many_attempts(attempts):
    assert timedelta(hours=0.8) <= retries.backoff(attempts, 0.5) <= timedelta(hours=1.2)


def test_retry_after_in_seconds_and_as_an_http_date():
    assert retries.retry_after("120", NOW) == timedelta(seconds=120)
    assert retries.retry_after(" 7 ", NOW) == timedelta(seconds=7)
    assert retries.retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == timedelta(seconds=90)
    assert retries.retry_after("Wed, 25 Nov 2026 10:05:00 GMT", NOW) == timedelta(minutes=5)
    assert retries.retry_after("Wed, 25 Nov 2026 09:00:00 GMT", NOW) == timedelta(0)   # past: now


def test_retry_after_is_capped_at_six_hours():
    assert retries.retry_after(str(7 * 3600), NOW) == timedelta(hours=6)
    assert retries.retry_after(format_datetime(NOW + timedelta(days=7), usegmt=True), NOW) == timedelta(hours=6)


def test_a_huge_retry_after_in_seconds_is_capped_too():
    assert retries.retry_after("100000000000000", NOW) == timedelta(hours=6)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Wed, 45 Nov 2026 10:05:00 GMT"])
def test_an_absent_or_unreadable_retry_after_is_none(value):
    assert retries.retry_after(value, NOW) is None


def test_retry_after_is_honoured_on_429_and_503_only():
    assert retries.next_attempt(NOW, 1, 0.5, 429, "30") == NOW + timedelta(seconds=30)
    assert retries.next_attempt(NOW, 1, 0.5, 503, "Wed, 25 Nov 2026 10:02:00 GMT") == NOW + timedelta(minutes=2)
    assert retries.next_attempt(NOW, 1, 0.5, 500, "30") == NOW + timedelta(seconds=5)
    assert retries.next_attempt(NOW, 3, 0.5, None, None) == NOW + timedelta(seconds=20)
    assert retries.next_attempt(NOW, 3, 0.5, 429, "garbage") == NOW + timedelta(seconds=20)   # backoff then


def test_gives_up_after_twenty_four_hours_of_failures():
    assert not retries.gives_up(NOW, NOW)
    assert not retries.gives_up(NOW, NOW + timedelta(hours=24) - timedelta(seconds=1))
    assert retries.gives_up(NOW, NOW + timedelta(hours=24))
    assert retries.gives_up(NOW, NOW + timedelta(days=3))


# -- URLs ----------------------------------------------------------------------------------------

class Resolver:
    """DNS as the test says: host -> addresses; records which hosts were asked."""

    def __init__(self, table: dict[str, list[str]]):
        self.table, self.asked = table, []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.table.get(host, [])


PUBLIC = Resolver({"hooks.example.org": ["93.184.216.34"], "v6.example.org": ["2606:4700::1111"],
                   "localhost": ["127.0.0.1", "::1"], "erp.internal": ["10.1.2.3"]})


async def codes(url: str, resolver: Resolver = PUBLIC, allowed: tuple[str, ...] = ()) -> list[str]:
    return [p["code"] for p in await url_problems(url, resolver, allowed)]


async def test_a_public_https_url_passes():
    assert await codes("https://hooks.example.org/parcours?x=1") == []
    assert await codes("https://v6.example.org:8443/in") == []
    assert await codes("https://93.184.216.34/in") == []


@pytest.mark.parametrize("url", ["http://hooks.example.org/in", "HTTP://hooks.example.org/in"])
async def test_plain_http_is_refused_unless_the_host_is_allowed(url):
    assert await codes(url) == ["webhook_url_not_https"]
    assert await codes(url, allowed=("hooks.example.org",)) == []


@pytest.mark.parametrize("url", ["https://user:secret@hooks.example.org/in", "https://user@hooks.example.org/in",
                                 "https://:secret@hooks.example.org/in"])
async def test_credentials_in_the_url_are_refused(url):
    assert await codes(url) == ["webhook_url_invalid"]


@pytest.mark.parametrize("url", ["ftp://hooks.example.org/in", "hooks.example.org/in", "https:///in",
                                 "https://hooks.example.org/in#frag", "https://hooks.example.org:99999/in",
                                 "https://hooks.example.org/" + "a" * MAX_URL_LENGTH])
async def test_what_is_no_absolute_url_is_refused(url):
    assert await codes(url) == ["webhook_url_invalid"]


INTERNAL = ["10.0.0.1", "10.255.255.254", "127.0.0.1", "127.8.9.10", "169.254.169.254", "::1", "fc00::1",
            "fd12:3456::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "0.0.0.0", "::",
            "192.168.1.1", "172.16.0.1", "100.64.0.1", "fe80::1", "224.0.0.1"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses(address):
    assert internal(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert not internal(address)


@pytest.mark.parametrize("address", INTERNAL)
async def test_a_host_resolving_to_an_internal_address_is_refused(address):
    resolver = Resolver({"hooks.example.org": [address]})
    assert await codes("https://hooks.example.org/in", resolver) == ["webhook_url_internal"]


async def test_one_internal_address_among_public_ones_is_enough_to_refuse():
    resolver = Resolver({"hooks.example.org": ["93.184.216.34", "10.0.0.7", "2606:4700::1111"]})
    [problem] = await url_problems("https://hooks.example.org/in", resolver, ())
    assert problem["code"] == "webhook_url_internal" and "10.0.0.7" in problem["message"]


@pytest.mark.parametrize("url", ["https://10.0.0.1/in", "https://127.0.0.1:8443/in", "https://169.254.169.254/latest",
                                 "https://[::1]/in", "https://[fd00::5]/in", "https://[::ffff:10.0.0.1]/in",
                                 "https://[::ffff:7f00:1]/in", "https://0.0.0.0/in", "https://[::]/in"])
async def test_an_internal_ip_literal_is_refused_without_asking_the_dns(url):
    resolver = Resolver({})
    assert await codes(url, resolver) == ["webhook_url_internal"]
    assert resolver.asked == []


async def test_a_host_without_address_is_refused():
    assert await codes("https://nowhere.example.org/in") == ["webhook_url_unresolvable"]


async def test_an_allowed_host_passes_even_when_internal_and_over_http():
    assert await codes("https://erp.internal/in") == ["webhook_url_internal"]
    assert await codes("https://erp.internal/in", allowed=("erp.internal",)) == []
    assert await codes("http://localhost:9000/in", allowed=(" LocalHost ",)) == []
    assert await codes("https://ERP.Internal./in", allowed=("erp.internal",)) == []
    assert await codes("http://localhost:9000/in", allowed=("erp.internal",)) == ["webhook_url_not_https"]


def test_the_target_is_lowercased_with_its_default_port():
    target, problems = parse_target("https://Hooks.Example.ORG./in")
    assert problems == [] and (target.scheme, target.host, target.port) == ("https", "hooks.example.org", 443)
    assert parse_target("http://localhost/in")[0].port == 80


# -- event types ---------------------------------------------------------------------------------

def test_the_selectable_types_are_both_catalogues():
    assert set(EVENT_TYPES) == set(CATALOGUE) | set(FINANCING_CATALOGUE)
    assert "contract.signed" in EVENT_TYPES and "invoice.issued" in EVENT_TYPES


def test_an_exact_type_selects_itself_only():
    assert selection_problems(["contract.ruptured", "payment.recorded"]) == []
    assert expand(["contract.ruptured", "payment.recorded"]) == ("contract.ruptured", "payment.recorded")
    assert "contract.ruptured" in expand(["contract.ruptured"]) and "contract.signed" not in expand(["contract.ruptured"])


def test_a_family_selects_every_type_of_it_and_nothing_else():
    contract = expand(["contract.*"])
    assert set(contract) == {t for t in CATALOGUE if t.startswith("contract.")} and "contract.signed" in contract
    assert not [t for t in contract if not t.startswith("contract.")]
    assert set(expand(["invoice.*", "fees.*"])) == {t for t in FINANCING_CATALOGUE
                                                    if t.startswith(("invoice.", "fees."))}
    assert "contract.amended" in expand(["contract.*"]) and "invoice.issued" not in expand(["contract.*"])


def test_the_star_selects_all():
    assert selection_problems([ALL]) == []
    assert expand([ALL]) == EVENT_TYPES and expand(["contract.signed", ALL]) == EVENT_TYPES
    assert all(t in expand([ALL]) for t in EVENT_TYPES) and "contract.exploded" not in expand([ALL])


def test_unknown_types_are_refused_each_with_its_place():
    problems = selection_problems(["contract.signed", "contract.exploded", "nope.*", "contract", "contract.*",
                                   "contract.signed.*", ""])
    assert [(p["field"], p["code"]) for p in problems] == [
        ("event_types.1", "unknown_event_type"), ("event_types.2", "unknown_event_type"),
        ("event_types.3", "unknown_event_type"), ("event_types.5", "unknown_event_type"),
        ("event_types.6", "unknown_event_type")]


# -- audience ------------------------------------------------------------------------------------

def signed(cid: str, uai: str = UAI_A, siret: str | None = SIRET_A, opco: str = "ATLAS") -> dict:
    cfa = {"uai": uai, **({"siret": siret} if siret else {})}
    return {"id": f"{cid}-signed", "source": CONTRACTS_SOURCE, "type": "contract.signed", "subject": cid,
            "partitionkey": f"app-{cid}", "data": {"opco": opco, "training": {"cfa": cfa}}}


def amended(cid: str, changes: dict, n: int = 1) -> dict:
    return {"id": f"{cid}-amended-{n}", "source": CONTRACTS_SOURCE, "type": "contract.amended", "subject": cid,
            "partitionkey": f"app-{cid}", "data": {"changes": changes}}


def ruptured(cid: str) -> dict:
    return {"id": f"{cid}-ruptured", "source": CONTRACTS_SOURCE, "type": "contract.ruptured", "subject": cid,
            "partitionkey": f"app-{cid}", "data": {}}


def money(event_type: str, uai: str, opco: str, n: int = 1, siret: str | None = None) -> dict:
    return {"id": f"{event_type}-{uai}-{opco}-{n}", "source": FINANCING_SOURCE, "type": event_type,
            "subject": f"invoice-{n}", "partitionkey": f"{uai}:{opco}",
            "data": {"cfa_siret": siret} if siret else {}}


def fee(cid: str, n: int = 1) -> dict:
    return {"id": f"fee-{cid}-{n}", "source": FINANCING_SOURCE, "type": "fees.claimed", "subject": f"fees-app-{cid}",
            "partitionkey": f"app-{cid}", "data": {"contract_id": cid, "billed_contract_id": cid}}


def fold(*events: dict) -> dict[str, Parties]:
    known: dict[str, Parties] = {}
    for ce in events:
        key = parties_key(ce)
        if key:
            known[key] = learned(ce, known.get(key, NOBODY))
    return known


def receivers(parties: Parties) -> set[str]:
    who = {"CFA_A": CFA_A, "CFA_A_BY_SIRET": CFA_A_BY_SIRET, "CFA_B": CFA_B, "CFA_B_BY_SIRET": CFA_B_BY_SIRET,
           "ATLAS": ATLAS, "AKTO": AKTO, "OPS": OPS}
    return {name for name, p in who.items() if may_receive(p, parties)}


def test_a_signature_names_the_cfa_by_uai_and_siret_and_its_opco():
    ce = signed("c1")
    assert parties_key(ce) == "contract:c1"
    parties = learned(ce, NOBODY)
    assert parties == Parties(UAI_A, SIRET_A, "ATLAS")
    assert receivers(parties) == {"CFA_A", "CFA_A_BY_SIRET", "ATLAS", "OPS"}


def test_an_event_of_a_contract_never_signed_here_goes_to_ops_only():
    assert receivers(learned(ruptured("c9"), NOBODY)) == {"OPS"}


def test_an_amendment_changing_the_opco_moves_the_contract_to_the_new_opco():
    known = fold(signed("c1"), amended("c1", {"opco": "AKTO"}))
    assert known["contract:c1"] == Parties(UAI_A, SIRET_A, "AKTO")
    assert receivers(known["contract:c1"]) == {"CFA_A", "CFA_A_BY_SIRET", "AKTO", "OPS"}
    after = learned(ruptured("c1"), known["contract:c1"])
    assert "AKTO" in receivers(after) and "ATLAS" not in receivers(after)


def test_an_amendment_leaving_the_opco_changes_no_party():
    known = fold(signed("c1"), amended("c1", {"planned_end_date": "2027-08-31"}))
    assert known["contract:c1"] == Parties(UAI_A, SIRET_A, "ATLAS")


def test_a_money_event_concerns_the_cfa_and_opco_of_its_account():
    ce = money("invoice.issued", UAI_A, "ATLAS", siret=SIRET_A)
    assert parties_key(ce) == f"account:{UAI_A}:ATLAS"
    parties = learned(ce, NOBODY)
    assert parties == Parties(UAI_A, SIRET_A, "ATLAS")
    assert receivers(parties) == {"CFA_A", "CFA_A_BY_SIRET", "ATLAS", "OPS"}
    # a payment names no SIRET: the account keeps the one its invoices named
    assert learned(money("payment.recorded", UAI_A, "ATLAS", 2), parties) == parties
    # before any invoice, the account is its UAI and OPCO only
    assert receivers(learned(money("payment.recorded", UAI_A, "AKTO", 3), NOBODY)) == {"CFA_A", "AKTO", "OPS"}


def test_a_fee_event_concerns_the_parties_of_its_contract():
    ce = fee("c1")
    assert parties_key(ce) == "contract:c1"
    known = fold(signed("c1", opco="AKTO"), ce)
    assert receivers(learned(ce, known["contract:c1"])) == {"CFA_A", "CFA_A_BY_SIRET", "AKTO", "OPS"}
    assert receivers(learned(fee("c7"), NOBODY)) == {"OPS"}   # a contract never signed here


EVENTS_OF_A = st.lists(st.sampled_from([
    signed("c1"), signed("c2", siret=None, opco="AKTO"), amended("c1", {"opco": "AKTO"}, 1),
    amended("c1", {"opco": "ATLAS"}, 2), amended("c2", {"planned_end_date": "2027-01-31"}), ruptured("c1"),
    ruptured("c2"), money("invoice.issued", UAI_A, "ATLAS", 1, SIRET_A), money("payment.recorded", UAI_A, "AKTO", 2),
    money("regularisation.proposed", UAI_A, "ATLAS", 3), fee("c1"), fee("c2")]), max_size=12)


@given(history=EVENTS_OF_A)
def test_cfa_b_never_receives_cfa_a_events(history):
    known: dict[str, Parties] = {}
    for ce in history:
        key = parties_key(ce)
        parties = learned(ce, known.get(key, NOBODY)) if key else NOBODY
        if key:
            known[key] = parties
        assert not may_receive(CFA_B, parties) and not may_receive(CFA_B_BY_SIRET, parties)
        assert may_receive(OPS, parties)
        if parties.cfa_uai is not None:
            assert may_receive(CFA_A, parties)
