"""Frais annexes: billed to the OPCO responsible that day, capped, once a day and kind."""
from dataclasses import replace

from services.contracts.domain.identifiers import uai_check_letter
from shared.auth import create_key
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

H = Keys.header
CFA_FEES = "0754322Z"


async def test_fees_follow_the_responsible_opco_and_the_caps(contracts, financing, keys, engine):
    uai = CFA_FEES[:7] + uai_check_letter(CFA_FEES[:7])
    async with engine.begin() as conn:
        own = (await create_key(conn, "cfa", uai))[1]
    keys = replace(keys, cfa_a=own)
    api = ContractsApi(contracts, keys)
    apprentice = {"id": "app-fees", "birth_date": "2005-03-14"}
    first = (await api.sign(apprentice=apprentice, cfa={"uai": uai}, signed_on="2024-08-26",
                            start_date="2024-09-01", planned_end_date="2026-08-31"))["contract_id"]
    await api.transmit(first, on="2024-09-02")
    await api.accept(first, level="8000.00")
    await api.rupture(first, on="2025-01-15")
    second = (await api.sign(apprentice=apprentice, cfa={"uai": uai},
                             employer={"siret": "12345678200010", "idcc": "1979"}, signed_on="2025-03-10",
                             start_date="2025-03-17", planned_end_date="2026-08-31", contract_type="23",
                             previous_contract_id=first))["contract_id"]

    async def handed_over():
        r = await financing.get("/v1/financing/apprentices/app-fees/handover", headers=H(own))
        return r.status_code == 200 and len(r.json()["handover"]) == 2
    await eventually(handed_over, what="both contracts in the financing projection")

    async def claim(body, expect):
        r = await financing.post("/v1/financing/fees", json=body, headers=H(own))
        assert r.status_code == expect, r.text
        return r.json()

    meals = await claim({"contract_id": first, "kind": "meal", "date": "2025-01-10", "quantity": 2}, 201)
    assert meals["opco"] == "ATLAS" and meals["amount"] == "6.00"
    assert meals["invoice"]["advance"] >= 2 or meals["invoice"]["funding_year"] > 1
    # after the successor's signature the new OPCO pays, whatever contract the CFA names
    later = await claim({"contract_id": first, "kind": "night", "date": "2025-03-12"}, 201)
    assert later["opco"] == "AKTO" and later["billed_contract_id"] == second and later["amount"] == "6.00"
    # in post-rupture training, before the rehire: still the first OPCO
    post = await claim({"contract_id": first, "kind": "boarding_day", "date": "2025-02-20"}, 201)
    assert post["opco"] == "ATLAS" and post["amount"] == "12.00"

    dup = await claim({"contract_id": first, "kind": "meal", "date": "2025-01-10"}, 422)
    assert dup["type"] == "urn:parcours:problem:fee-duplicate"
    assert (await claim({"contract_id": first, "kind": "meal", "date": "2025-01-11", "quantity": 3}, 422))[
        "errors"][0]["code"] == "fee_above_cap"
    assert (await claim({"contract_id": first, "kind": "meal", "date": "2025-01-12", "amount": "7.00",
                         "quantity": 2}, 422))["errors"][0]["code"] == "fee_above_cap"
    assert (await claim({"contract_id": first, "kind": "meal", "date": "2024-08-01"}, 422))[
        "errors"][0]["code"] == "fee_outside_funded_span"
    assert (await claim({"contract_id": first, "kind": "meal", "date": "2025-02-20"}, 422))[
        "errors"][0]["code"] == "fee_boarding_and_meals"
    equipment = await claim({"contract_id": first, "kind": "first_equipment", "date": "2024-09-05",
                             "amount": "450.00"}, 201)
    assert equipment["invoice"] == {"funding_year": 1, "advance": 1}
    assert (await claim({"contract_id": second, "kind": "first_equipment", "date": "2025-04-01",
                         "amount": "100.00"}, 422))["errors"][0]["code"] == "fee_duplicate"
    assert (await claim({"contract_id": first, "kind": "first_equipment", "date": "2024-09-06",
                         "amount": "600.00"}, 422))["errors"][0]["code"] in ("fee_duplicate", "fee_above_cap")
    assert (await financing.post("/v1/financing/fees", headers=H(keys.opco_x),
                                 json={"contract_id": first, "kind": "meal", "date": "2025-01-13"})).status_code == 403
    assert (await financing.post("/v1/financing/fees", headers=H(keys.cfa_b),
                                 json={"contract_id": first, "kind": "meal", "date": "2025-01-13"})).status_code == 404

    funding = (await financing.get(f"/v1/financing/contracts/{first}", headers=H(own))).json()
    assert {f["kind"] for f in funding["fees"]} == {"meal", "boarding_day", "first_equipment"}
    on_invoices = {c for a in funding["schedule"] for c in a["fees"]}
    assert meals["claim_id"] in on_invoices and equipment["claim_id"] in on_invoices

    feed, after = [], 0
    while True:   # the whole feed, page by page: other tests' events come before and after ours
        page = (await financing.get(f"/v1/events?after={after}&limit=5000", headers=H(keys.ops))).json()
        feed += page["events"]
        if not page["events"]:
            break
        after = page["last_position"]
    mine = [e for e in feed if e["subject"] == "fees-app-fees"]
    assert [e["type"] for e in mine].count("fees.claimed") == 4
    assert [e["type"] for e in mine].count("fees.refused") == 7
