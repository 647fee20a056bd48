"""A signature reads the live contracts it checks without holding them first (``hold=False``);
when the unit's record finds them changed (LiveChanged) it signs again, reading them held, and
what the second attempt sees decides."""
import pytest

from kernel.errors import Refused
from services.contracts.application.sign import sign_contract
from services.contracts.application.unit_of_work import LiveChanged
from tests.unit.contracts.fakes import FakeContractStreams, FakeContractViews, FakeUnitOfWork
from tests.unit.contracts.given import CFA, terms


class Views(FakeContractViews):
    def __init__(self, *args):
        super().__init__(*args)
        self.holds: list[tuple[str, bool]] = []

    async def live_for_apprentice(self, apprentice_id, *, hold=True):
        self.holds.append(("apprentice", hold))
        return await (super() if hold else _Unheld(self.t)).live_for_apprentice(apprentice_id)

    async def live_for_masters(self, master_ids, *, hold=True):
        self.holds.append(("masters", hold))
        return await (super() if hold else _Unheld(self.t)).live_for_masters(master_ids)


class _Unheld(FakeContractViews):
    """The read, its locks let go as soon as it is done (the SQL adapter's hold=False)."""

    def __init__(self, t):
        super().__init__(t, [])

    async def live_for_apprentice(self, apprentice_id, *, hold=True):
        try:
            return await super().live_for_apprentice(apprentice_id)
        finally:
            while self.held:
                self.held.pop().release()

    async def live_for_masters(self, master_ids, *, hold=True):
        try:
            return await super().live_for_masters(master_ids)
        finally:
            while self.held:
                self.held.pop().release()


class Streams(FakeContractStreams):
    """Its first record finds the live contracts changed: ``before`` runs, then LiveChanged."""

    def __init__(self, t, before=None):
        super().__init__(t)
        self.before, self.lasts = before, []

    async def record(self, changes, actor, *, last=False):
        self.lasts.append(last)
        if self.before is not None:
            before, self.before = self.before, None
            await before()
            raise LiveChanged()
        return await super().record(changes, actor, last=last)


def unit(before=None) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.views = Views(uow.tables, uow.held)
    uow.contracts = Streams(uow.tables, before)
    return uow


async def test_the_first_attempt_reads_unheld_and_its_record_is_the_last_statement():
    uow = unit()
    state = await sign_contract(uow, terms(), CFA)
    assert state.version == 1 and uow.commits == 1
    assert uow.views.holds == [("apprentice", False), ("masters", False)]
    assert uow.contracts.lasts == [True]


async def test_live_contracts_changed_before_the_record_sign_again_holding_them():
    uow = unit()

    async def meanwhile():   # the same apprentice signed by someone else in between
        await sign_contract(FakeUnitOfWork(uow.tables), terms(), CFA)
    uow.contracts.before = meanwhile
    with pytest.raises(Refused) as refused:
        await sign_contract(uow, terms(), CFA)
    assert [e["code"] for e in refused.value.errors] == ["overlapping_contract"]
    assert uow.views.holds == [("apprentice", False), ("masters", False), ("apprentice", True), ("masters", True)]


async def test_a_change_that_breaks_nothing_signs_at_the_second_attempt():
    uow = unit()

    async def meanwhile():
        pass
    uow.contracts.before = meanwhile
    state = await sign_contract(uow, terms(), CFA)
    assert state.version == 1 and uow.contracts.lasts == [True, True] and uow.commits == 1
    assert [s.contract_id for s in [state]] == list(uow.tables.streams)
