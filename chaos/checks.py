"""The trial's verdict, computed from what was observed (pure: no I/O, tested with fabricated
evidence in tests/unit/test_chaos_checks.py).

- *lost*: an acknowledged command whose event is not in the contracts store, or a stored event
  missing from the topic or from a projection (financing, quality);
- *doubled*: an acknowledged command recorded more than once (two signatures of one apprentice,
  two events of one act in a stream), or an event held twice by a store or a projection;
- *republished*: extra copies of an event on the topic. The relay is at-least-once by design
  (docs/architecture.md, "Relay"): a kill between the broker's acknowledgement and the saved
  checkpoint publishes the batch again, and the consumers skip it by stream version. Copies are
  counted, not failed; what must hold is one effect per event in every projection;
- *reordered*: on a partition, an event of a stream first seen after a later event of the same
  stream (copies excepted);
- the DLQ records, and every `parcours ops verify` / `verify-chain` run;
- *webhooks* (issue 17): every event on the topics the webhooks service consumes (contracts.events,
  financing.events), except those already there when the trial's endpoint was registered, reached
  the trial's receiver at least once (else ``webhook_missing``); per (source, subject), a sequence
  never first arrives before the one before it (``webhook_out_of_order``) nor without it
  (``webhook_gap``). The delivery worker is at-least-once (a kill between the receiver's 200 and
  the recorded attempt sends it again, with the same ``webhook-id``): duplicates are counted, not
  failed.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from chaos.load import Acknowledged, Refused


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    stream_id: str
    version: int
    type: str
    apprentice_id: str | None = None   # of a contract.signed


@dataclass(frozen=True)
class PublishedRecord:
    event_id: str
    subject: str
    sequence: int | None
    partition: int
    offset: int
    source: str = ""   # the CloudEvent's source (/parcours/contracts, /parcours/financing)


@dataclass(frozen=True)
class Arrival:
    """One POST the trial's webhook receiver got (chaos/receiver.py), in arrival order."""
    webhook_id: str            # the webhook-id header: the CloudEvent's id, the same on every retry
    source: str
    subject: str
    partitionkey: str
    sequence: int | None


@dataclass
class Evidence:
    stored: list[StoredEvent]
    published: list[PublishedRecord]
    projections: dict[str, list[str]]          # projection -> the event ids it holds, one per row
    dlq_records: int = 0
    verifications: dict[str, bool] = field(default_factory=dict)   # e.g. "verify financing --source feed"
    # every record of the topics the webhooks service consumes (contracts.events, financing.events)
    webhook_topics: list[PublishedRecord] = field(default_factory=list)
    # event ids already on those topics when the trial's endpoint was registered: not owed to it
    webhook_not_owed: frozenset[str] = frozenset()
    arrivals: list[Arrival] = field(default_factory=list)   # what the receiver got, in order


@dataclass
class WebhookFigures:
    owed: int = 0                   # distinct event ids on the topics since the endpoint was registered
    delivered: int = 0              # of those, how many reached the receiver (at least once)
    requests: int = 0               # POSTs the receiver got, copies included
    duplicates: int = 0             # POSTs of a webhook-id already received (at least once: counted)
    not_owed: int = 0               # event ids on the topics before the endpoint existed
    missing: list[str] = field(default_factory=list)    # "webhook_missing: ..."
    gaps: list[str] = field(default_factory=list)       # "webhook_gap: ..." or "webhook_out_of_order: ..."

    @property
    def ok(self) -> bool:
        return not (self.missing or self.gaps)


@dataclass
class Verdict:
    acknowledged: int
    stored: int                     # contract events in the store
    published: int                  # records on the topic, copies included
    lost: list[str]                 # "<key or event id>: where"
    doubled: list[str]
    republished: int
    reordered: list[str]
    dlq: int
    verifications: dict[str, bool]
    refused: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    webhooks: WebhookFigures = field(default_factory=WebhookFigures)

    @property
    def verified(self) -> bool:
        return bool(self.verifications) and all(self.verifications.values())

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.reordered or self.dlq or self.refused or self.gave_up) \
            and self.verified and self.webhooks.ok


def judge(acknowledged: list[Acknowledged], evidence: Evidence, refused: list[Refused] = (),
          gave_up: list[str] = ()) -> Verdict:
    stored_ids = Counter(e.event_id for e in evidence.stored)
    on_topic = Counter(r.event_id for r in evidence.published)
    held = {name: Counter(ids) for name, ids in evidence.projections.items()}
    by_stream_type: dict[tuple[str, str], list[StoredEvent]] = defaultdict(list)
    signatures: dict[str, list[StoredEvent]] = defaultdict(list)
    for e in evidence.stored:
        by_stream_type[(e.stream_id, e.type)].append(e)
        if e.type == "contract.signed" and e.apprentice_id:
            signatures[e.apprentice_id].append(e)

    def missing_downstream(event_id: str) -> list[str]:
        where = [] if on_topic[event_id] else ["topic"]
        return where + [name for name, ids in held.items() if not ids[event_id]]

    lost, doubled, counted = [], [], set()
    for ack in acknowledged:
        # a signature is found by its apprentice (unique per signature): a second contract
        # signed for the same key would sit in another stream
        events = signatures.get(ack.apprentice_id, []) if ack.kind == "sign" else \
            by_stream_type.get((ack.contract_id, ack.event_type), [])
        if not any(e.stream_id == ack.contract_id for e in events):
            lost.append(f"{ack.key}: not stored")
        if len(events) > 1:
            doubled.append(f"{ack.key}: stored {len(events)} times")
        for e in events:
            counted.add(e.event_id)
            if where := missing_downstream(e.event_id):
                lost.append(f"{ack.key}: not in {', '.join(where)}")
    for e in evidence.stored:   # events no acknowledged command explains (the scheduler's, ...)
        if e.event_id not in counted and (where := missing_downstream(e.event_id)):
            lost.append(f"event {e.event_id} ({e.type}): not in {', '.join(where)}")
    doubled += [f"event {i}: {n} times in the store" for i, n in stored_ids.items() if n > 1]
    for name, ids in held.items():
        doubled += [f"event {i}: {n} times in {name}" for i, n in ids.items() if n > 1]
    republished = sum(n - 1 for n in on_topic.values() if n > 1)
    return Verdict(len(acknowledged), len(evidence.stored), len(evidence.published), lost, doubled, republished, reordered(evidence.published),
                   evidence.dlq_records, dict(evidence.verifications),
                   [f"{r.key}: {r.status} {r.body[:200]}" for r in refused], list(gave_up),
                   judge_webhooks(evidence.webhook_topics, evidence.webhook_not_owed, evidence.arrivals))


def reordered(records: list[PublishedRecord]) -> list[str]:
    """Streams whose events were first published out of version order on their partition."""
    out = []
    highest: dict[tuple[int, str], int] = {}
    seen: set[tuple[str, int]] = set()
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        if r.sequence is None or (r.subject, r.sequence) in seen:
            continue   # a copy of something already published
        seen.add((r.subject, r.sequence))
        top = highest.get((r.partition, r.subject), 0)
        if r.sequence < top:
            out.append(f"{r.subject}: version {r.sequence} after {top} (partition {r.partition})")
        highest[(r.partition, r.subject)] = max(top, r.sequence)
    return out


def judge_webhooks(topics: list[PublishedRecord], not_owed: frozenset[str], arrivals: list[Arrival]) -> WebhookFigures:
    """What the receiver got against what the topics hold: each owed event id at least once,
    duplicates counted, and per stream no sequence first arriving before or without the previous."""
    owed: dict[str, PublishedRecord] = {}
    for r in topics:
        if r.event_id not in not_owed:
            owed.setdefault(r.event_id, r)   # a republished copy is the same event
    received = Counter(a.webhook_id for a in arrivals)
    missing = [f"webhook_missing: event {i} ({r.source} {r.subject} sequence {r.sequence})"
               for i, r in owed.items() if not received[i]]
    return WebhookFigures(len(owed), sum(1 for i in owed if received[i]), len(arrivals),
                          sum(n - 1 for n in received.values() if n > 1),
                          len({r.event_id for r in topics} & set(not_owed)), missing,
                          webhook_gaps(owed.values(), arrivals))


def webhook_gaps(owed: Iterable[PublishedRecord], arrivals: list[Arrival]) -> list[str]:
    """Per (source, subject): a sequence n+1 first arriving before n (``webhook_out_of_order``),
    or while n never arrives (``webhook_gap``), n being owed too (a stream's events before the
    endpoint existed are not; one never delivered at all is also ``webhook_missing``)."""
    sequences: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in owed:
        if r.sequence is not None:
            sequences[(r.source, r.subject)].add(r.sequence)
    first: dict[tuple[str, str, int], int] = {}
    for i, a in enumerate(arrivals):
        if a.sequence is not None:
            first.setdefault((a.source, a.subject, a.sequence), i)
    out = []
    for (source, subject), owed_here in sorted(sequences.items()):
        for n in sorted(owed_here):
            if n - 1 not in owed_here or (source, subject, n) not in first:
                continue
            before = first.get((source, subject, n - 1))
            if before is None:
                out.append(f"webhook_gap: {source} {subject}: sequence {n} arrived, {n - 1} never did")
            elif before > first[(source, subject, n)]:
                out.append(f"webhook_out_of_order: {source} {subject}: sequence {n} first arrived before {n - 1}")
    return out
