"""The consumer runner's fencing rule (shared/messaging/consumer.py): a batch keeps only the
records at or past their partition's stored next offset."""
from dataclasses import dataclass

from aiokafka import TopicPartition

from shared.messaging.consumer import unapplied

P0, P1, P2 = (TopicPartition("t", p) for p in range(3))


@dataclass
class Record:
    offset: int


def records(*offsets):
    return [Record(o) for o in offsets]


def offsets(batch):
    return {tp: [r.offset for r in recs] for tp, recs in batch.items()}


def test_records_below_the_stored_offset_are_dropped_and_the_rest_kept_in_order():
    batch = {P0: records(5, 6, 7, 8), P1: records(0, 1), P2: records(3, 4)}
    kept = unapplied(batch, {P0: 7, P1: 0})   # P2: no stored offset, nothing applied yet
    assert offsets(kept) == {P0: [7, 8], P1: [0, 1], P2: [3, 4]}


def test_a_partition_applied_past_the_whole_batch_leaves_the_batch():
    batch = {P0: records(0, 1, 2), P1: records(9)}
    assert offsets(unapplied(batch, {P0: 3, P1: 12})) == {}
    assert offsets(unapplied(batch, {P0: 40})) == {P1: [9]}


def test_an_empty_batch_stays_empty():
    assert unapplied({}, {P0: 4}) == {} and unapplied({P0: []}, {}) == {}
