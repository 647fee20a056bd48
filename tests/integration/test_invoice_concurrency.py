"""Invoices under concurrency (issue 16): 20 concurrent requests for the same advance write one
invoice; 20 concurrent issues for different advances get 20 consecutive numbers (gap-free per CFA
and year); 20 concurrent payments on one invoice never allocate more than it owes."""
from __future__ import annotations

import asyncio
from datetime import date

from services.financing.adapters.financing_tables import billing_invoices
from tests.integration.lifecycle_api import ContractsApi
from tests.integration.test_money_loop import cert, money_stack
from tests.support import CFA_A, Keys, eventually

H = Keys.header
N = 20


async def test_concurrent_issues_write_once_and_number_without_gaps():
    async with money_stack() as (contracts, financing, keys, clock):
        api = ContractsApi(contracts, keys)
        ids = []
        for n in range(N):
            cid = (await api.sign(apprentice={"id": f"app-concurrent-{n}", "birth_date": "2004-03-14"},
                                  signed_on="2024-08-26", start_date="2024-09-01",
                                  planned_end_date="2026-08-31"))["contract_id"]
            await api.transmit(cid, on="2024-09-02")
            await api.accept(cid, level="8000.00", on="2024-09-20")
            ids.append(cid)

        async def all_scheduled():
            r = await financing.get("/v1/financing/invoiceable", headers=H(keys.cfa_a))
            return r.status_code == 200 and r.json()["invoiceable"] and \
                len(r.json()["invoiceable"][0]["advances"]) == N
        clock.set(date(2024, 11, 1))
        await eventually(all_scheduled, what="20 first advances due")

        async def issue(cid, key=None):
            headers = {**H(keys.cfa_a), **({"Idempotency-Key": key} if key else {})}
            return await financing.post("/v1/financing/invoices", headers=headers, json={
                "opco": "ATLAS", "lines": [{"contract_id": cid, "funding_year": 1, "advance": 1}],
                "certificates": [cert(cid, 1, 1)]})

        # the same advance, 20 times at once (no Idempotency-Key: nothing but the rules protects it)
        same = await asyncio.gather(*[issue(ids[0]) for _ in range(N)])
        assert sorted(r.status_code for r in same) == [201] + [409] * (N - 1), [r.text for r in same if
                                                                                 r.status_code not in (201, 409)]
        assert {r.json()["errors"][0]["code"] for r in same if r.status_code == 409} == {"advance_already_invoiced"}
        # the other 19 advances and one more try of the first, at once: consecutive numbers, no gap
        others = await asyncio.gather(*[issue(cid) for cid in ids[1:]], issue(ids[0]))
        assert [r.status_code for r in others] == [201] * (N - 1) + [409]
        async with financing.app.state.engine.connect() as conn:
            numbers = sorted(r.number for r in await conn.execute(billing_invoices.select()))
        assert numbers == [f"F-{CFA_A}-2024-{n:05d}" for n in range(1, N + 1)]

        # one invoice, 20 payments of half of it at once: two fit, the others are refused
        [first] = [r.json() for r in same if r.status_code == 201]
        r = await financing.post(f"/v1/financing/invoices/{first['invoice_id']}/acceptance", headers=H(keys.opco_x),
                                 json={})
        assert r.status_code == 200, r.text
        half = f"{float(first['total']) / 2:.2f}"
        pays = await asyncio.gather(*[financing.post("/v1/financing/payments", headers=H(keys.opco_x), json={
            "cfa_uai": CFA_A, "amount": half, "paid_on": "2024-11-01", "bank_reference": f"VIR-{n}",
            "allocations": [{"invoice_id": first["invoice_id"], "amount": half}]}) for n in range(N)])
        assert sum(p.status_code == 201 for p in pays) <= 2
        assert {p.status_code for p in pays} <= {201, 409, 422}
        final = (await financing.get(f"/v1/financing/invoices/{first['invoice_id']}", headers=H(keys.opco_x))).json()
        assert float(final["paid"]) <= float(final["total"])
        assert final["paid"] == f"{sum(float(half) for p in pays if p.status_code == 201):.2f}"
