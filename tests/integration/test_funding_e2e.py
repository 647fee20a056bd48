"""A rupture and a rehire driven through the contracts API; the handover and both OPCOs'
commitments read from the financing API, now and as of an earlier time."""
from dataclasses import replace
from datetime import datetime, timezone

from services.contracts.domain.identifiers import uai_ok
from shared.auth import create_key

from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

H = Keys.header


CFA_E7 = "0754321P"  # a CFA of this test only, so that its commitments are exact


async def test_rupture_rehire_handover_and_commitments(contracts, financing, keys, engine):
    assert uai_ok(CFA_E7)
    async with engine.begin() as conn:
        own = (await create_key(conn, "cfa", CFA_E7))[1]
    keys = replace(keys, cfa_a=own)
    api = ContractsApi(contracts, keys)
    apprentice = {"id": "app-e7", "birth_date": "2005-03-14"}
    first = (await api.sign(apprentice=apprentice, cfa={"uai": CFA_E7}, signed_on="2024-08-26", start_date="2024-09-01",
                            planned_end_date="2026-08-31"))["contract_id"]
    await api.transmit(first, on="2024-09-02")
    await api.accept(first, level="8000.00", on="2024-09-10")
    await api.deposit(first)

    async def funded(cid, key, total):
        r = await financing.get(f"/v1/financing/contracts/{cid}", headers=H(key))
        return r.json() if r.status_code == 200 and r.json()["total"] == total else None
    before = await eventually(lambda: funded(first, keys.cfa_a, "16000.00"), what="2 full years for ATLAS")
    assert [y["amount"] for y in before["funding_years"]] == ["8000.00", "8000.00"]
    moment = datetime.now(timezone.utc)

    await api.rupture(first, on="2025-01-15")
    second = (await api.sign(apprentice=apprentice, cfa={"uai": CFA_E7}, employer={"siret": "12345678200010", "idcc": "1979"},
                             signed_on="2025-03-10", start_date="2025-03-17", planned_end_date="2026-08-31",
                             contract_type="23", previous_contract_id=first))["contract_id"]
    await api.transmit(second, on="2025-03-18")
    await api.accept(second, key=keys.opco_y, level="7200.00", on="2025-03-20")

    after = await eventually(lambda: funded(first, keys.opco_x, "4666.67"), what="ATLAS cut at the rehire")
    assert after["spans"][0]["end"] == "2025-03-09" and after["spans"][0]["end_reason"] == "successor_signed"
    successor = await eventually(lambda: funded(second, keys.opco_y, "10800.00"), what="AKTO from the signature")
    assert successor["spans"][0]["start"] == "2025-03-10"
    assert [a["advance"] for a in successor["schedule"] if a["funding_year"] == 1] == [1, 2, 3]

    handover = (await financing.get("/v1/financing/apprentices/app-e7/handover", headers=H(keys.cfa_a))).json()
    assert [(h["opco"], h["from"], h["to"]) for h in handover["handover"]] == [
        ("ATLAS", "2024-09-01", "2025-03-09"), ("AKTO", "2025-03-10", "2026-08-31")]
    assert "rehired" in handover["handover"][1]["reason"]

    period = "from=2024-01-01&to=2027-12-31"
    atlas = (await financing.get(f"/v1/financing/opcos/ATLAS/commitments?{period}", headers=H(own))).json()
    akto = (await financing.get(f"/v1/financing/opcos/AKTO/commitments?{period}", headers=H(own))).json()
    assert atlas["total"] == "4666.67" and akto["total"] == "10800.00"
    assert {c for m in akto["months"] for c in m["by_cfa"]} == {CFA_E7}
    as_opco = (await financing.get(f"/v1/financing/opcos/AKTO/commitments?{period}", headers=H(keys.opco_y))).json()
    assert as_opco["months"][0]["by_cfa"].get(CFA_E7)
    assert (await financing.get(f"/v1/financing/opcos/AKTO/commitments?{period}",
                                headers=H(keys.opco_x))).status_code == 404

    # what was known before the rupture: two full years for ATLAS
    past = await financing.get(f"/v1/financing/contracts/{first}",
                               params={"as_of": moment.isoformat()}, headers=H(keys.cfa_a))
    assert past.json()["total"] == "16000.00" and past.json()["status"] == "deposited"
    early = await financing.get(f"/v1/financing/apprentices/app-e7/handover",
                                params={"as_of": moment.isoformat()}, headers=H(keys.cfa_a))
    assert [h["opco"] for h in early.json()["handover"]] == ["ATLAS"]
    past_commitments = (await financing.get("/v1/financing/opcos/ATLAS/commitments", headers=H(keys.ops),
                                            params={"from": "2024-01-01", "to": "2027-12-31",
                                                    "as_of": moment.isoformat()})).json()
    assert float(past_commitments["total"]) >= 16000
    assert (await financing.get(f"/v1/financing/contracts/{second}", params={"as_of": moment.isoformat()},
                                headers=H(keys.ops))).status_code == 404
    assert (await financing.get(f"/v1/financing/contracts/{first}", headers=H(keys.cfa_b))).status_code == 404
