"""The fault trial's judge (chaos/checks.py) on fabricated evidence: it must see a command never
stored, an event missing from the topic or a projection, a signature or an act recorded twice,
an event held twice, a reordering, a DLQ record and a failed verification; and it must not count
the relay's republished copies as doubles."""
from chaos.checks import Evidence, PublishedRecord, StoredEvent, judge, reordered
from chaos.load import Acknowledged, Refused

PASSED = {"verify financing --source feed": True, "verify-chain": True}


def sign(n: int) -> Acknowledged:
    return Acknowledged(f"k-{n}-sign", "sign", f"c{n}", f"app-{n}")


def stored(n: int, version: int = 1, type_: str = "contract.signed", event: str | None = None,
           stream: str | None = None) -> StoredEvent:
    return StoredEvent(event or f"e{n}-{version}", stream or f"c{n}", version, type_,
                       f"app-{n}" if type_ == "contract.signed" else None)


def everywhere(events: list[StoredEvent], **over) -> Evidence:
    """Evidence in which every stored event reached the topic (once) and both projections."""
    published = [PublishedRecord(e.event_id, e.stream_id, e.version, 0, i) for i, e in enumerate(events)]
    held = {"financing": [e.event_id for e in events], "quality": [e.event_id for e in events]}
    return Evidence(**{"stored": events, "published": published, "projections": held,
                       "verifications": dict(PASSED), **over})


def test_a_clean_run_passes():
    events = [stored(1), stored(1, 2, "contract.transmitted"), stored(2)]
    acks = [sign(1), Acknowledged("k-1-transmission", "transmission", "c1", "app-1"), sign(2)]
    verdict = judge(acks, everywhere(events))
    assert verdict.ok and verdict.lost == [] and verdict.doubled == [] and verdict.acknowledged == 3


def test_an_acknowledged_signature_never_stored_is_lost():
    verdict = judge([sign(1), sign(2)], everywhere([stored(1)]))
    assert verdict.lost == ["k-2-sign: not stored"] and not verdict.ok


def test_an_acknowledged_act_never_stored_is_lost():
    act = Acknowledged("k-1-decision", "decision", "c1", "app-1")
    verdict = judge([sign(1), act], everywhere([stored(1), stored(1, 2, "contract.transmitted")]))
    assert verdict.lost == ["k-1-decision: not stored"]


def test_an_event_missing_from_the_topic_or_a_projection_is_lost():
    events = [stored(1), stored(2), stored(3)]
    evidence = everywhere(events)
    evidence.published = [r for r in evidence.published if r.event_id != "e1-1"]
    evidence.projections["quality"].remove("e2-1")
    verdict = judge([sign(1), sign(2), sign(3)], evidence)
    assert verdict.lost == ["k-1-sign: not in topic", "k-2-sign: not in quality"]


def test_an_event_no_command_explains_is_still_followed_downstream():
    overdue = stored(1, 2, "contract.transmission_overdue")
    evidence = everywhere([stored(1), overdue])
    evidence.projections["financing"].remove(overdue.event_id)
    assert judge([sign(1)], evidence).lost == [f"event {overdue.event_id} (contract.transmission_overdue): not in financing"]


def test_one_signature_recorded_as_two_contracts_is_doubled():
    twice = [stored(1), stored(1, event="e1-bis", stream="c1-bis")]
    verdict = judge([sign(1)], everywhere(twice))
    assert verdict.doubled == ["k-1-sign: stored 2 times"] and verdict.lost == [] and not verdict.ok


def test_one_act_recorded_twice_in_its_stream_is_doubled():
    events = [stored(1), stored(1, 2, "contract.transmitted"), stored(1, 3, "contract.transmitted")]
    verdict = judge([sign(1), Acknowledged("k-1-transmission", "transmission", "c1", "app-1")], everywhere(events))
    assert verdict.doubled == ["k-1-transmission: stored 2 times"]


def test_an_event_held_twice_by_a_projection_is_doubled():
    evidence = everywhere([stored(1)])
    evidence.projections["financing"].append("e1-1")
    assert judge([sign(1)], evidence).doubled == ["event e1-1: 2 times in financing"]


def test_republished_copies_are_counted_not_failed():
    evidence = everywhere([stored(1), stored(2)])
    evidence.published += [PublishedRecord("e1-1", "c1", 1, 0, 10), PublishedRecord("e2-1", "c2", 1, 0, 11)]
    verdict = judge([sign(1), sign(2)], evidence)
    assert verdict.republished == 2 and verdict.doubled == [] and verdict.ok


def test_a_stream_published_out_of_order_is_reordered_but_a_republished_batch_is_not():
    copies = [PublishedRecord("a", "c1", 1, 0, 0), PublishedRecord("b", "c1", 2, 0, 1),
              PublishedRecord("a", "c1", 1, 0, 2), PublishedRecord("b", "c1", 2, 0, 3),
              PublishedRecord("c", "c1", 3, 0, 4)]
    assert reordered(copies) == []
    swapped = [PublishedRecord("b", "c1", 2, 0, 0), PublishedRecord("a", "c1", 1, 0, 1)]
    assert reordered(swapped) == ["c1: version 1 after 2 (partition 0)"]


def test_a_dlq_record_a_failed_verification_a_refusal_or_a_give_up_fails_the_trial():
    base = everywhere([stored(1)])
    assert judge([sign(1)], base).ok
    assert not judge([sign(1)], everywhere([stored(1)], dlq_records=1)).ok
    assert not judge([sign(1)], everywhere([stored(1)], verifications={**PASSED, "verify-chain": False})).ok
    assert not judge([sign(1)], everywhere([stored(1)], verifications={})).ok
    assert not judge([sign(1)], base, refused=[Refused("k-2-sign", "sign", 422, "{}")]).ok
    assert not judge([sign(1)], base, gave_up=["k-2-sign"]).ok
