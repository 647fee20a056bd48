"""The short fault trial (docs/fault_trial.md): one kill -9 of each component (contracts,
financing, quality, webhooks, Kafka, PostgreSQL) under a small load, on a stack of its own
started by deploy/stack.sh on free ports, with a webhook receiver registered for every event;
then nothing lost, nothing doubled, no DLQ record, every `parcours ops verify` and
`verify-chain` passed, every event reached the receiver at least once and no stream's sequence
arrived before or without the previous (issue 17). A minute or two. The trial stops its
processes and deletes its data directory whatever happens; when it fails, its logs are copied to
test-artifacts/chaos-*/."""
import dataclasses
import secrets
from pathlib import Path

import pytest
from rich.console import Console

from chaos import processes
from chaos.checks import StoredEvent, judge
from chaos.load import Acknowledged
from chaos.own_stack import CHAOS_DATA, COMPONENTS
from chaos.report import details, table
from chaos.trial import run_trial
from chaos.verify import RUNS
from tests.served import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def trial():
    logs = ROOT / "test-artifacts" / f"chaos-{secrets.token_hex(3)}"
    result = await run_trial(kills=len(COMPONENTS), rate=6.0, between=5, down=0, logs_into=logs)
    Console(width=110).print(table(result))   # shown by pytest when a test fails
    return result


def failure(result) -> str:
    return "\n".join(details(result))


def test_each_component_is_killed_once_and_recovers(trial):
    assert trial.error == "", failure(trial)
    assert [k.component for k in trial.kills] == list(COMPONENTS)
    assert all(k.recovered and k.seconds is not None for k in trial.kills), failure(trial)
    assert trial.settle_seconds is not None, failure(trial)


def test_nothing_acknowledged_is_lost_or_doubled_and_every_verification_passes(trial):
    v = trial.verdict
    assert v is not None, failure(trial)
    assert v.acknowledged >= 5 * len(COMPONENTS) and v.stored >= v.acknowledged and v.published >= v.stored
    assert (v.lost, v.doubled, v.reordered, v.dlq, v.refused, v.gave_up) == ([], [], [], 0, [], []), failure(trial)
    assert set(v.verifications) == set(RUNS) and all(v.verifications.values()), failure(trial)
    assert trial.ok


def test_the_same_evidence_with_a_command_lost_and_one_doubled_fails(trial):
    """The checks are not vacuous on what this trial observed: an acknowledgement the store never
    recorded, and a second contract for one acknowledged signature, are both caught."""
    evidence = trial.evidence
    signed = next(a for a in trial.acknowledged if a.kind == "sign")
    ghost = Acknowledged("ghost-sign", "sign", "no-such-contract", "no-such-apprentice")
    twin = StoredEvent("00000000-0000-0000-0000-000000000001", "twin-contract", 1, "contract.signed",
                       signed.apprentice_id)
    doubled = dataclasses.replace(evidence, stored=evidence.stored + [twin])
    verdict = judge(trial.acknowledged + [ghost], doubled)
    assert "ghost-sign: not stored" in verdict.lost
    assert f"{signed.key}: stored 2 times" in verdict.doubled
    assert not verdict.ok


def test_every_event_since_the_endpoint_reached_the_webhook_receiver_in_order(trial):
    v = trial.verdict
    assert v is not None, failure(trial)
    w = v.webhooks
    # one event per acknowledged command at least, all after the endpoint was registered
    assert w.owed >= v.acknowledged and w.delivered == w.owed and w.requests >= w.owed, failure(trial)
    assert (w.missing, w.gaps) == ([], []), failure(trial)
    assert "webhooks" in [k.component for k in trial.kills]


def test_the_same_evidence_with_a_webhook_missing_or_reordered_fails(trial):
    """The webhook check is not vacuous on what this trial observed: an acknowledged contract's
    signature the receiver never got is missing (and its stream then has a gap), and a stream
    whose second event arrived first is out of order."""
    evidence = trial.evidence
    owed = [r for r in evidence.webhook_topics if r.event_id not in evidence.webhook_not_owed]
    streams = {}
    for r in owed:
        streams.setdefault((r.source, r.subject), {})[r.sequence] = r.event_id
    source, subject = next(k for k, seqs in streams.items() if {1, 2} <= set(seqs))
    first, second = streams[(source, subject)][1], streams[(source, subject)][2]

    dropped = dataclasses.replace(evidence, arrivals=[a for a in evidence.arrivals if a.webhook_id != first])
    verdict = judge(trial.acknowledged, dropped)
    assert any(m.startswith(f"webhook_missing: event {first} ") for m in verdict.webhooks.missing)
    assert f"webhook_gap: {source} {subject}: sequence 2 arrived, 1 never did" in verdict.webhooks.gaps
    assert not verdict.ok

    of_second = [a for a in evidence.arrivals if a.webhook_id == second]
    others = [a for a in evidence.arrivals if a.webhook_id != second]
    swapped = dataclasses.replace(evidence, arrivals=of_second + others)
    verdict = judge(trial.acknowledged, swapped)
    assert verdict.webhooks.gaps == [f"webhook_out_of_order: {source} {subject}: sequence 2 first arrived before 1"]
    assert verdict.webhooks.missing == [] and not verdict.ok


def test_the_trial_leaves_no_process_and_no_data(trial):
    data_dir = Path(trial.data_dir)
    assert data_dir.is_relative_to(CHAOS_DATA) and not data_dir.exists()
    assert processes.owned(data_dir) == []
