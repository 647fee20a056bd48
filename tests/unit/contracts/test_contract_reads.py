"""Reading contracts against the in-memory unit of work: one contract and its stream for the keys
the tenancy rule lets see it (not found for the others), and the listing: its filters, its pages,
its tenancy."""
from datetime import date

import pytest

from kernel.errors import NotFound
from services.contracts.application.contract_reads import contract_stream, get_contract, list_contracts
from services.contracts.application.sign import sign_contract
from services.contracts.application.unit_of_work import ListFilters
from shared.auth import Principal
from tests.unit.contracts.fakes import FakeUnitOfWork
from tests.unit.contracts.given import (AKTO, ATLAS, CFA, CFA_BY_SIRET, OPS, OTHER_CFA, OTHER_UAI, SIRET, contract,
                                        terms)


@pytest.fixture
async def uow():
    """Four contracts of CFA (signed 09-01, 09-02, 09-03, 09-04; the last with AKTO, already
    transmitted) and one of OTHER_CFA, ATLAS too (signed 09-05)."""
    unit = FakeUnitOfWork()
    for day in (1, 2, 3):
        await contract(unit, signed_on=f"2024-09-0{day}", apprentice={"id": f"a{day}", "birth_date": "2005-03-14"})
    await contract(unit, "transmission", signed_on="2024-09-04", employer={"siret": "12345678200010", "idcc": "573"},
                   apprentice={"id": "a4", "birth_date": "2005-03-14"})
    await sign_contract(unit, terms(signed_on="2024-09-05", cfa={"uai": OTHER_UAI}), OTHER_CFA)
    return unit


def by_apprentice(uow) -> dict[str, str]:
    return {v.apprentice_id: v.contract_id for v in uow.tables.views.values()}


async def test_a_contract_is_read_by_the_keys_that_may_see_it(uow):
    cid = by_apprentice(uow)["a1"]
    for principal in (CFA, CFA_BY_SIRET, ATLAS, OPS):
        view = await get_contract(uow, principal, cid)
        assert (view.contract_id, view.status, view.version, view.signed_on) == (cid, "signed", 1, date(2024, 9, 1))
        assert [e.type for e in await contract_stream(uow, principal, cid)] == ["contract.signed"]
    for principal, contract_id in ((OTHER_CFA, cid), (AKTO, cid), (Principal("k", "auditor", "x"), cid),
                                   (OPS, "nope")):
        for read in (get_contract, contract_stream):
            with pytest.raises(NotFound):
                await read(uow, principal, contract_id)


async def listed(uow, principal, filters=ListFilters(), after=None, limit=50) -> list[str]:
    page = await list_contracts(uow, principal, filters, after, limit)
    return [v.apprentice_id for v in page.items]


async def test_the_listing_follows_the_tenancy_rule(uow):
    assert await listed(uow, CFA) == await listed(uow, CFA_BY_SIRET) == ["a1", "a2", "a3", "a4"]
    assert await listed(uow, OTHER_CFA) == ["app-1"]
    assert await listed(uow, ATLAS) == ["a1", "a2", "a3", "app-1"] and await listed(uow, AKTO) == ["a4"]
    assert await listed(uow, OPS) == ["a1", "a2", "a3", "a4", "app-1"]
    assert await listed(uow, Principal("k", "auditor", "x")) == []


async def test_the_listing_filters(uow):
    assert await listed(uow, OPS, ListFilters(status="transmitted")) == ["a4"]
    assert await listed(uow, OPS, ListFilters(opco="AKTO")) == ["a4"]
    assert sorted(await listed(uow, OPS, ListFilters(cfa=SIRET))) == ["a1", "a2", "a3", "a4"]
    assert await listed(uow, CFA, ListFilters(signed_from=date(2024, 9, 2), signed_to=date(2024, 9, 3))) == ["a2", "a3"]


async def test_the_listing_pages_by_signature_date_then_id(uow):
    first = await list_contracts(uow, CFA, ListFilters(), None, 3)
    assert [v.apprentice_id for v in first.items] == ["a1", "a2", "a3"] and first.more
    last = first.items[-1]
    rest = await list_contracts(uow, CFA, ListFilters(), (last.signed_on, last.contract_id), 3)
    assert [v.apprentice_id for v in rest.items] == ["a4"] and not rest.more
    exact = await list_contracts(uow, CFA, ListFilters(), None, 4)
    assert len(exact.items) == 4 and not exact.more
