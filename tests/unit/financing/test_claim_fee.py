"""Frais annexes claims against in-memory ports: billed to the OPCO responsible that day, each
refusal coded, recorded (fees.refused) and raised."""
from datetime import date
from decimal import Decimal

import pytest

from kernel.errors import Conflict, Forbidden, NotFound, Refused
from services.financing.application.apply_contract_events import apply_contract_events
from services.financing.application.claim_fee import FeeClaim, claim_fee
from tests.unit.financing.fakes import FakeUnitOfWork
from tests.unit.financing.paths import ATLAS, CFA_BY_SIRET, CFA_BY_UAI, OTHER_CFA, History

TODAY = date(2025, 6, 1)


@pytest.fixture
async def uow():
    """Contract c1 (ATLAS) ruptured on 2025-01-15 with training continued, c2 (AKTO) from 2025-03-10."""
    unit, h = FakeUnitOfWork(), History()
    await apply_contract_events(unit, [h.signed("c1", "a1"), h.accepted("c1", "a1"), h.ruptured("c1", "a1"),
                                       *h.rehire("c1", "c2", "a1")], TODAY)
    unit.commits = 0
    return unit


def claim(kind="meal", day="2025-01-10", quantity=1, amount=None, contract="c1") -> FeeClaim:
    return FeeClaim(contract, kind, date.fromisoformat(day), quantity, None if amount is None else Decimal(amount))


async def refusal(uow, c: FeeClaim, principal=CFA_BY_UAI) -> Refused:
    with pytest.raises(Refused) as caught:
        await claim_fee(uow, principal, c, TODAY)
    return caught.value


async def test_an_accepted_claim_is_billed_recorded_and_committed(uow):
    done = await claim_fee(uow, CFA_BY_UAI, claim(quantity=2), TODAY)
    assert (done["opco"], done["amount"], done["billed_contract_id"]) == ("ATLAS", "6.00", "c1")
    assert done["invoice"]["advance"] >= 2 or done["invoice"]["funding_year"] > 1
    (stored, _), = uow.tables.fees
    assert (stored.claim_id, stored.amount, stored.opco) == (done["claim_id"], Decimal("6"), "ATLAS")
    assert [(s, t, a) for s, t, _, a in uow.tables.fee_events] == [("fees-a1", "fees.claimed", "k-uai")]
    assert uow.commits == 1


async def test_after_the_successor_signature_the_new_opco_pays_whatever_contract_is_named(uow):
    done = await claim_fee(uow, CFA_BY_SIRET, claim("night", "2025-03-12"), TODAY)
    assert (done["opco"], done["billed_contract_id"], done["amount"]) == ("AKTO", "c2", "6.00")


async def test_first_equipment_goes_on_the_first_invoices_once_a_path(uow):
    done = await claim_fee(uow, CFA_BY_UAI, claim("first_equipment", "2024-09-05", amount="450.00"), TODAY)
    assert done["invoice"] == {"funding_year": 1, "advance": 1}
    again = await refusal(uow, claim("first_equipment", "2025-04-01", amount="100.00", contract="c2"))
    assert again.errors[0]["code"] == "fee_duplicate" and again.errors[0]["field"] == "kind"


@pytest.mark.parametrize("c, code", [
    (claim(day="2024-08-01"), "fee_outside_funded_span"),
    (claim(quantity=3), "fee_above_cap"),
    (claim(quantity=2, amount="7.00"), "fee_above_cap"),
    (claim("first_equipment", "2024-09-05", amount="600.00"), "fee_above_cap"),
    (claim("mobility"), "fee_amount_required"),
])
async def test_each_refusal_is_coded_recorded_and_committed(uow, c, code):
    refused = await refusal(uow, c)
    assert refused.code == code.replace("_", "-") and refused.title == "The claim is refused"
    (error,) = refused.errors
    assert (error["code"], error["article"], error["field"]) == (code, "D6332-87", "date")
    assert refused.extra["claim_id"] and uow.tables.fees == [] and uow.commits == 1
    (_, kind, data, _), = uow.tables.fee_events
    assert kind == "fees.refused" and data["code"] == code and data["claim_id"] == refused.extra["claim_id"]


async def test_a_second_claim_of_the_day_is_a_duplicate_and_a_boarding_day_excludes_meals(uow):
    await claim_fee(uow, CFA_BY_UAI, claim(), TODAY)
    assert (await refusal(uow, claim())).code == "fee-duplicate"
    await claim_fee(uow, CFA_BY_UAI, claim("boarding_day", "2025-02-20"), TODAY)
    assert (await refusal(uow, claim(day="2025-02-20"))).errors[0]["code"] == "fee_boarding_and_meals"


async def test_a_claim_the_unique_index_refuses_is_a_duplicate(uow):
    taken = await claim_fee(uow, CFA_BY_UAI, claim(), TODAY)

    async def unseen(apprentice):   # a concurrent claim, committed after this one read the claims
        return []
    uow.fee_claims.claimed = unseen
    refused = await refusal(uow, claim())
    assert refused.code == "fee-duplicate" and refused.errors[0]["field"] == "kind"
    assert [f.claim_id for f, _ in uow.tables.fees] == [taken["claim_id"]]


async def test_a_refused_contract_pays_no_fees():
    uow, h = FakeUnitOfWork(), History()
    await apply_contract_events(uow, [h.signed("c1", "a1"), h.event("funding_refused", "c1", "a1",
                                                                     decided_on="2024-09-10", reason="x")], TODAY)
    assert (await refusal(uow, claim())).errors[0]["code"] == "fee_span_not_funded"


async def test_only_the_contracts_cfa_may_claim(uow):
    with pytest.raises(Forbidden) as caught:
        await claim_fee(uow, ATLAS, claim(), TODAY)
    assert caught.value.code == "forbidden-role" and "needs a cfa key" in caught.value.detail
    for principal, contract in ((OTHER_CFA, "c1"), (CFA_BY_UAI, "nope")):
        with pytest.raises(NotFound):
            await claim_fee(uow, principal, claim(contract=contract), TODAY)
    assert uow.tables.fee_events == [] and uow.commits == 0


async def test_a_concurrent_claim_is_a_conflict_and_nothing_is_kept(uow):
    uow.fee_claims.conflict = True
    with pytest.raises(Conflict) as caught:
        await claim_fee(uow, CFA_BY_UAI, claim(), TODAY)
    assert caught.value.code == "concurrent-update"
    assert uow.tables.fees == [] and uow.commits == 0
