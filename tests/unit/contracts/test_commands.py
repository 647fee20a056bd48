"""Every lifecycle command against the in-memory unit of work: accepted, refused in a state it
does not fit (409 with the current state), refused on a stale If-Match (412 with the current
version), refused to a key of another role (403) or tenant (404), refused on its data (422), and
retried when another writer got there first."""
import pytest

from kernel.errors import Conflict, Forbidden, NotFound, Refused, Stale
from services.contracts.application.commands import COMMANDS, run_command
from shared.api.domain_errors import as_problem
from tests.unit.contracts.fakes import FakeContractStreams, FakeUnitOfWork
from tests.unit.contracts.given import AKTO, ATLAS, CFA, OPS, OTHER_CFA, STEPS, body, contract, step

DEPOSITED = ("transmission", "decision", "deposit")

# command, the steps before it, the event it records, the status after it
ACCEPTED = [
    ("transmission", (), "contract.transmitted", "transmitted"),
    ("decision", ("transmission",), "contract.funding_accepted", "accepted"),
    ("deposit", ("transmission", "decision"), "contract.deposited", "deposited"),
    ("amendments", DEPOSITED, "contract.amended", "deposited"),
    ("rupture", DEPOSITED, "contract.ruptured", "ruptured"),
    ("post-rupture-training-end", (*DEPOSITED, "rupture"), "contract.post_rupture_training_ended", "ruptured"),
    ("completion", DEPOSITED, "contract.completed", "completed"),
    ("cancellation", (), "contract.cancelled", "cancelled"),
]
# command, the steps before it (a state it does not fit), the detail, the current state reported
WRONG_STATE = [
    ("transmission", ("transmission",), "transmission: nothing to transmit: already transmitted.",
     {"status": "transmitted", "version": 2, "needs_transmission": False, "funding": None}),
    ("decision", (), "decision: the contract has not been transmitted.",
     {"status": "signed", "version": 1, "needs_transmission": True, "funding": None}),
    ("deposit", ("transmission",), "deposit: the funding is not accepted.",
     {"status": "transmitted", "version": 2, "needs_transmission": False, "funding": None}),
    ("amendments", ("cancellation",), "amendment: the contract is cancelled.",
     {"status": "cancelled", "version": 2, "needs_transmission": True, "funding": None}),
    ("rupture", (*DEPOSITED, "rupture"), "rupture: the contract is ruptured.",
     {"status": "ruptured", "version": 5, "needs_transmission": False, "funding": "accepted"}),
    ("post-rupture-training-end", DEPOSITED, "post-rupture-training-end: the apprentice is not in post-rupture "
     "training.", {"status": "deposited", "version": 4, "needs_transmission": False, "funding": "accepted"}),
    ("completion", (*DEPOSITED, "completion"), "completion: the contract is completed.",
     {"status": "completed", "version": 5, "needs_transmission": False, "funding": "accepted"}),
    ("cancellation", ("rupture",), "cancellation: the contract is ruptured.",
     {"status": "ruptured", "version": 2, "needs_transmission": True, "funding": None}),
]
BEFORE = {command: steps for command, steps, _, _ in ACCEPTED}


@pytest.fixture
def uow():
    return FakeUnitOfWork()


async def test_every_command_has_a_case_here():
    assert [c for c, *_ in ACCEPTED] == [c for c, *_ in WRONG_STATE] == list(COMMANDS)


@pytest.mark.parametrize("command, steps, event_type, status", ACCEPTED)
async def test_each_command_is_recorded_with_its_views(uow, command, steps, event_type, status):
    cid = await contract(uow, *steps)
    commits = uow.commits
    state = await step(uow, cid, command)
    assert (state.status, state.version) == (status, len(steps) + 2)
    last = uow.tables.streams[cid][-1]
    assert (last.type, last.stream_version, last.metadata) == (
        event_type, state.version, {"partitionkey": "app-1", "actor": STEPS[command][0].key_id})
    view = uow.tables.views[cid]
    assert (view.status, view.version) == (status, state.version) and uow.commits == commits + 1


@pytest.mark.parametrize("command, steps, detail, current", WRONG_STATE)
async def test_a_command_that_does_not_fit_the_state_is_a_conflict_with_that_state(uow, command, steps, detail,
                                                                                    current):
    cid = await contract(uow, *steps)
    written, commits = len(uow.tables.streams[cid]), uow.commits
    with pytest.raises(Conflict) as caught:
        await step(uow, cid, command)
    assert (caught.value.code, caught.value.title, caught.value.detail) == (
        "invalid-transition", "The command does not fit the contract's state", detail)
    assert caught.value.extra == {"current_state": current}
    assert as_problem(caught.value).body()["status"] == 409
    assert len(uow.tables.streams[cid]) == written and uow.commits == commits


async def test_cancelling_after_the_start_is_a_conflict(uow):
    cid = await contract(uow)
    with pytest.raises(Conflict) as caught:
        await step(uow, cid, "cancellation", cancelled_on="2024-09-29")
    assert caught.value.detail == "cancellation: the contract has started: record a rupture instead."


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_a_stale_if_match_is_refused_with_the_current_version(uow, command):
    cid = await contract(uow, *BEFORE[command])
    version = len(BEFORE[command]) + 1
    principal = STEPS[command][0]
    with pytest.raises(Stale) as caught:
        await run_command(uow, principal, cid, COMMANDS[command], body(command), if_match=version + 1)
    assert (caught.value.code, caught.value.title) == ("stale-version", "Precondition failed")
    assert caught.value.detail == f"If-Match names version {version + 1}; the contract is at version {version}."
    assert caught.value.extra == {"current_version": version}
    assert as_problem(caught.value).body()["status"] == 412
    assert len(uow.tables.streams[cid]) == version
    state = await run_command(uow, principal, cid, COMMANDS[command], body(command), if_match=version)
    assert state.version == version + 1


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_a_key_of_another_role_is_forbidden(uow, command):
    cid = await contract(uow, *BEFORE[command])
    needed = COMMANDS[command].roles
    for principal in (OPS, ATLAS if needed == ("cfa",) else CFA):
        with pytest.raises(Forbidden) as caught:
            await run_command(uow, principal, cid, COMMANDS[command], body(command))
        assert caught.value.code == "forbidden-role"
        assert caught.value.detail == f"This action needs a {needed[0]} key; this key's role is {principal.role}."
    assert len(uow.tables.streams[cid]) == len(BEFORE[command]) + 1


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_another_tenants_contract_is_not_found_whatever_the_role(uow, command):
    cid = await contract(uow, *BEFORE[command])
    for principal, contract_id in ((OTHER_CFA, cid), (AKTO, cid), (STEPS[command][0], "nope")):
        with pytest.raises(NotFound) as caught:
            await run_command(uow, principal, contract_id, COMMANDS[command], body(command))
        assert (caught.value.code, caught.value.detail) == ("not-found", "No such contract.")


async def test_data_breaking_a_rule_is_refused_with_the_rule(uow):
    cid = await contract(uow)
    with pytest.raises(Refused) as caught:
        await step(uow, cid, "transmission", transmitted_on="2024-09-19")
    assert (caught.value.code, caught.value.detail) == ("contract-rules", "1 rule(s) failed.")
    assert caught.value.errors == [{"field": "transmitted_on", "code": "transmitted_before_signature",
                                    "message": "Transmitted before it was signed."}]
    with pytest.raises(Refused) as caught:
        await step(uow, cid, "amendments", changes={"planned_end_date": "2029-01-01"})
    assert [(e["code"], e["article"]) for e in caught.value.errors] == [("duration_too_long", "L6222-7-1")]
    assert len(uow.tables.streams[cid]) == 1


def another_writer(uow: FakeUnitOfWork, cid: str):
    """An avenant appended by another transaction between our load and our append."""
    async def write():
        streams = FakeContractStreams(uow.tables)
        state = await streams.load(cid)
        await streams.record([(state, [("contract.amended", {"contract_id": cid, "effective_on": "2024-10-01",
                                                             "amendment_type": "36", "changes": {}})])], "other")
    return write


async def test_a_concurrent_append_is_retried_on_the_new_version(uow):
    cid = await contract(uow)
    uow.contracts.meanwhile.append(another_writer(uow, cid))
    state = await step(uow, cid, "transmission")
    assert state.version == 3
    assert [e.type for e in uow.tables.streams[cid]] == ["contract.signed", "contract.amended", "contract.transmitted"]


async def test_a_concurrent_append_under_if_match_is_stale_with_the_new_version(uow):
    cid = await contract(uow)
    uow.contracts.meanwhile.append(another_writer(uow, cid))
    with pytest.raises(Stale) as caught:
        await run_command(uow, CFA, cid, COMMANDS["transmission"], body("transmission"), if_match=1)
    assert caught.value.extra == {"current_version": 2}


async def test_a_contract_that_keeps_changing_is_a_conflict(uow):
    cid = await contract(uow)
    commits = uow.commits
    uow.contracts.meanwhile.extend(another_writer(uow, cid) for _ in range(3))
    with pytest.raises(Conflict) as caught:
        await step(uow, cid, "transmission")
    assert (caught.value.code, caught.value.title, caught.value.detail) == (
        "concurrent-update", "Concurrent update", "The contract kept changing; retry.")
    assert uow.commits == commits
