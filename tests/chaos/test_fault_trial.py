"""The short fault trial (docs/fault_trial.md): one kill -9 of each component (contracts,
financing, quality, Kafka, PostgreSQL) under a small load, on a stack of its own started by
deploy/stack.sh on free ports; then nothing lost, nothing doubled, no DLQ record, every
`parcours ops verify` and `verify-chain` passed. About a minute. The trial stops its processes
and deletes its data directory whatever happens; when it fails, its logs are copied to
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


def test_the_trial_leaves_no_process_and_no_data(trial):
    data_dir = Path(trial.data_dir)
    assert data_dir.is_relative_to(CHAOS_DATA) and not data_dir.exists()
    assert processes.owned(data_dir) == []
