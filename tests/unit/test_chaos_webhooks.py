"""The fault trial's webhook check (chaos/checks.py, issue 17) on fabricated evidence: every event
on the topics since the receiver's endpoint was registered must reach it at least once
(``webhook_missing``), per (source, subject) no sequence first arrives before or without the one
before it (``webhook_out_of_order``, ``webhook_gap``); duplicates and the events from before the
endpoint are counted, not failed. And the receiver itself (chaos/receiver.py) records what a
delivery carries."""
import json

import httpx

from chaos.checks import Arrival, Evidence, PublishedRecord, judge, judge_webhooks
from chaos.load import Acknowledged
from chaos.receiver import Receiver

CONTRACTS, FINANCING = "/parcours/contracts", "/parcours/financing"
PASSED = {"verify-chain": True}


def record(event_id: str, subject: str, sequence: int, source: str = CONTRACTS, offset: int = 0) -> PublishedRecord:
    return PublishedRecord(event_id, subject, sequence, 0, offset, source)


def arrival(r: PublishedRecord) -> Arrival:
    return Arrival(r.event_id, r.source, r.subject, f"key-{r.subject}", r.sequence)


TOPICS = [record("a1", "c1", 1), record("a2", "c1", 2), record("b1", "c2", 1), record("a3", "c1", 3),
          record("i1", "invoice-1", 1, FINANCING), record("i2", "invoice-1", 2, FINANCING)]


def test_every_event_received_in_order_passes():
    figures = judge_webhooks(TOPICS, frozenset(), [arrival(r) for r in TOPICS])
    assert figures.ok and (figures.owed, figures.delivered, figures.requests, figures.duplicates) == (6, 6, 6, 0)


def test_an_event_never_received_is_missing():
    figures = judge_webhooks(TOPICS, frozenset(), [arrival(r) for r in TOPICS if r.event_id != "b1"])
    assert figures.missing == [f"webhook_missing: event b1 ({CONTRACTS} c2 sequence 1)"]
    assert figures.delivered == 5 and not figures.ok


def test_a_stream_received_without_its_middle_has_a_gap():
    figures = judge_webhooks(TOPICS, frozenset(), [arrival(r) for r in TOPICS if r.event_id != "a2"])
    assert figures.gaps == [f"webhook_gap: {CONTRACTS} c1: sequence 3 arrived, 2 never did"]
    assert len(figures.missing) == 1 and not figures.ok


def test_a_sequence_first_received_before_the_previous_is_out_of_order():
    got = [arrival(r) for r in (TOPICS[4], TOPICS[5], TOPICS[1], TOPICS[0], TOPICS[2], TOPICS[3])]
    figures = judge_webhooks(TOPICS, frozenset(), got)
    assert figures.gaps == [f"webhook_out_of_order: {CONTRACTS} c1: sequence 2 first arrived before 1"]
    assert figures.missing == [] and not figures.ok


def test_duplicates_are_counted_not_failed_and_a_late_copy_is_no_reordering():
    got = [arrival(r) for r in TOPICS]
    got = got[:2] + [got[0], got[1]] + got[2:] + [got[0]]   # a worker killed after the 200, twice
    figures = judge_webhooks(TOPICS, frozenset(), got)
    assert figures.ok and figures.duplicates == 3 and figures.requests == 9 and figures.delivered == 6


def test_republished_copies_on_the_topic_are_one_event_owed():
    figures = judge_webhooks(TOPICS + [record("a1", "c1", 1, offset=9)], frozenset(), [arrival(r) for r in TOPICS])
    assert figures.ok and figures.owed == 6


def test_events_on_the_topics_before_the_endpoint_are_not_owed_nor_counted_as_gaps():
    # the demo contracts: c1's first two events were fanned out before the endpoint existed
    figures = judge_webhooks(TOPICS, frozenset({"a1", "a2"}), [arrival(r) for r in TOPICS[2:]])
    assert figures.ok and (figures.owed, figures.not_owed, figures.delivered) == (4, 2, 4)


def test_the_verdict_fails_on_a_missing_webhook_or_a_gap():
    evidence = Evidence([], [], {}, 0, dict(PASSED), TOPICS, frozenset(), [arrival(r) for r in TOPICS])
    assert judge([], evidence).ok
    evidence.arrivals = evidence.arrivals[1:]
    verdict = judge([], evidence)
    assert verdict.webhooks.missing == [f"webhook_missing: event a1 ({CONTRACTS} c1 sequence 1)"]
    assert verdict.webhooks.gaps == [f"webhook_gap: {CONTRACTS} c1: sequence 2 arrived, 1 never did"]
    assert not verdict.ok


def test_evidence_without_a_receiver_owes_nothing():
    """The judge's other tests build evidence without webhooks: nothing is owed, nothing fails."""
    verdict = judge([Acknowledged("k", "sign", "c1", "app")], Evidence([], [], {}, 0, dict(PASSED)))
    assert verdict.webhooks.owed == 0 and verdict.webhooks.ok


async def test_the_receiver_records_each_delivery_in_arrival_order():
    receiver = await Receiver().start()
    try:
        async with httpx.AsyncClient() as client:
            for webhook_id, seq in (("e-1", "1"), ("e-2", "2"), ("e-1", "1")):
                ce = {"id": webhook_id, "source": CONTRACTS, "subject": "c1", "partitionkey": "app-1",
                      "sequence": seq, "type": "contract.signed"}
                r = await client.post(receiver.url, content=json.dumps(ce), headers={"webhook-id": webhook_id})
                assert r.status_code == 200
            r = await client.post(receiver.url, content=b"not json", headers={"webhook-id": "e-3"})
            assert r.status_code == 200
    finally:
        await receiver.stop()
    one, two = Arrival("e-1", CONTRACTS, "c1", "app-1", 1), Arrival("e-2", CONTRACTS, "c1", "app-1", 2)
    assert receiver.arrivals == [one, two, one, Arrival("e-3", "", "", "", None)]
    assert receiver.ids == {"e-1", "e-2", "e-3"}
