"""The quality projection against in-memory ports: contract events kept as received, each
contract attributed to the UAI of its signature, a replayed event id kept once."""
from datetime import datetime, timezone

from services.quality.application.apply_contract_events import apply_contract_events
from tests.unit.quality.fakes import FakeUnitOfWork
from tests.unit.quality.support import OTHER_UAI, UAI, Contracts


async def test_a_batch_is_kept_with_the_signatures_cfa():
    uow, c = FakeUnitOfWork(), Contracts()
    batch = [c.signed("c1"), c.ruptured("c1", "2025-01-15"), c.signed("c2", uai=OTHER_UAI)]
    await apply_contract_events(uow, batch)
    kept = uow.tables.contract_events
    assert [(e.event_id, e.contract_id, e.type, e.cfa) for e in kept] == [
        (batch[0]["id"], "c1", "contract.signed", UAI), (batch[1]["id"], "c1", "contract.ruptured", None),
        (batch[2]["id"], "c2", "contract.signed", OTHER_UAI)]
    assert kept[1].data == batch[1]["data"] and kept[0].recorded_at == datetime.fromisoformat(batch[0]["time"])
    assert uow.commits == 1


async def test_the_same_batch_again_changes_nothing():
    uow, c = FakeUnitOfWork(), Contracts()
    batch = [c.signed("c1"), c.ruptured("c1", "2025-01-15")]
    await apply_contract_events(uow, batch)
    before = list(uow.tables.contract_events)
    await apply_contract_events(uow, batch + [batch[0]])
    await apply_contract_events(uow, list(reversed(batch)))
    assert uow.tables.contract_events == before


async def test_other_events_are_ignored_and_a_time_is_optional():
    uow, c = FakeUnitOfWork(), Contracts()
    await apply_contract_events(uow, [{"id": "x", "type": "fees.claimed", "subject": "a1", "data": {}}])
    assert uow.tables.contract_events == [] and uow.commits == 0
    untimed = {k: v for k, v in c.signed("c1").items() if k != "time"}
    await apply_contract_events(uow, [untimed])
    assert uow.tables.contract_events[0].recorded_at.tzinfo == timezone.utc


async def test_a_cfa_reads_every_event_of_the_contracts_it_signed_in_arrival_order():
    uow, c = FakeUnitOfWork(), Contracts()
    await apply_contract_events(uow, [c.ruptured("c1", "2025-01-15"), c.signed("c2", uai=OTHER_UAI)])
    await apply_contract_events(uow, [c.signed("c1"), c.ruptured("c2", "2025-02-01")])
    events = await uow.contract_events.of_cfa(UAI)
    assert [(e["type"], e["subject"]) for e in events] == [("contract.ruptured", "c1"), ("contract.signed", "c1")]
