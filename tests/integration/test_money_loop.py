"""The money loop end to end (issue 16): a contract from signature to completion with a rupture and
a rehire in the middle; every advance invoiced by the CFA and paid by the OPCO, the year the
rupture shrank regularised on the next invoice, the balance at zero and the reconciliation report
empty at the end; the same after ``parcours ops rebuild financing --swap``."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date, datetime, timezone

from services.financing.application.regularisations import propose_all
from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from shared.clock import FixedClock
from tests.integration.lifecycle_api import ContractsApi
from tests.integration.test_rebuild_billing import ops
from tests.support import CFA_A, Keys, eventually, isolated_contracts, running

H = Keys.header
CERT = {"kind": "realisation", "scope": "intermediate", "hours": "120", "reference": "CR-1"}


@asynccontextmanager
async def money_stack():
    """Contracts and financing on a database of their own; financing's clock is the test's."""
    from services.financing.api.app import create_app
    async with isolated_contracts() as (contracts, app, keys, url, _):
        clock = FixedClock(date(2024, 10, 1))
        async with running(create_app(app.state.settings, clock=clock)) as financing:
            yield contracts, financing, keys, clock


class Money:
    """The CFA's and the OPCO's calls, each asserting its status."""

    def __init__(self, financing, keys: Keys):
        self.f, self.k = financing, keys

    async def call(self, method, path, key, expect=200, **kw):
        r = await self.f.request(method, path, headers={**H(key), **kw.pop("headers", {})}, **kw)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json() if r.headers.get("content-type", "").startswith(("application/json",
                                                                        "application/problem")) else r.text

    async def invoiceable(self):
        return (await self.call("GET", "/v1/financing/invoiceable", self.k.cfa_a))["invoiceable"]

    async def invoice(self, lines, certificates=(), expect=201, opco="ATLAS", **kw):
        return await self.call("POST", "/v1/financing/invoices", self.k.cfa_a, expect,
                               json={"opco": opco, "lines": lines, "certificates": list(certificates)}, **kw)

    async def accept(self, invoice, expect=200):
        return await self.call("POST", f"/v1/financing/invoices/{invoice['invoice_id']}/acceptance", self.k.opco_x,
                               expect, json={})

    async def settle(self, lines, certificates, clock, ref):
        """Invoice these advances, accept, pay in full; returns the invoice."""
        inv = await self.invoice(lines, certificates)
        await self.accept(inv)
        await self.call("POST", "/v1/financing/payments", self.k.opco_x, 201, json={
            "cfa_uai": CFA_A, "amount": inv["total"], "paid_on": clock.today().isoformat(), "bank_reference": ref,
            "allocations": [{"invoice_id": inv["invoice_id"], "amount": inv["total"]}]})
        return inv

    async def balance(self):
        return (await self.call("GET", "/v1/financing/balances?opco=ATLAS", self.k.cfa_a))["balances"]

    async def report(self):
        return await self.call("GET", "/v1/financing/reconciliation?from=2024-01-01&to=2027-12-31",
                               self.k.cfa_a)


def cert(contract, fy, adv, kind="realisation", scope="intermediate", start="2024-09-01", end="2024-10-31"):
    return {**CERT, "kind": kind, "scope": scope, "contract_id": contract, "funding_year": fy, "advance": adv,
            "period_start": start, "period_end": end}


async def advances_of(financing, key, contract_id):
    r = await financing.get(f"/v1/financing/contracts/{contract_id}", headers=H(key))
    return r.json()["schedule"] if r.status_code == 200 else None


async def funded(api: ContractsApi, financing, keys: Keys, *, transmitted_on: str, decided_on: str, deposited_on: str,
                 first_due_on: str, advances: int, deposit_number: str = "075202410000123", **terms):
    """A contract signed, transmitted, accepted at 8000 and deposited, once the financing projection
    shows its schedule (``advances`` of them, the first due on ``first_due_on``): (id, schedule)."""
    cid = (await api.sign(**terms))["contract_id"]
    await api.transmit(cid, on=transmitted_on)
    await api.accept(cid, level="8000.00", on=decided_on)
    await api.command(cid, "deposit", {"deposited_on": deposited_on, "deposit_number": deposit_number}, keys.opco_x)

    async def scheduled():
        schedule = await advances_of(financing, keys.cfa_a, cid)
        return schedule and len(schedule) == advances and schedule[0]["due_on"] == first_due_on and schedule
    return cid, await eventually(scheduled, what=f"contract {cid}'s schedule in the projection")


async def test_a_path_with_a_rupture_and_a_rehire_is_invoiced_paid_regularised_and_settled():
    async with money_stack() as (contracts, financing, keys, clock):
        api, money = ContractsApi(contracts, keys), Money(financing, keys)
        apprentice = {"id": "app-money-loop", "birth_date": "2004-03-14"}
        a, schedule = await funded(api, financing, keys, apprentice=apprentice, signed_on="2024-08-26",
                                   start_date="2024-09-01", planned_end_date="2026-08-31", transmitted_on="2024-09-02",
                                   decided_on="2024-09-20", deposited_on="2024-10-12", first_due_on="2024-11-11",
                                   advances=6)
        assert [s["status"] for s in schedule][:1] == ["upcoming"]     # due 30 days after the deposit
        assert await money.invoiceable() == []

        # the first advance: due from 2024-11-11; invoiced with its certificate, accepted, paid
        clock.set(date(2024, 11, 15))
        ready = await money.invoiceable()
        assert [(i["contract_id"], i["funding_year"], i["advance"], i["amount"]) for i in ready[0]["advances"]] == [
            (a, 1, 1, "4000.00")]
        too_much = await money.invoice([{"contract_id": a, "funding_year": 1, "advance": 1, "amount": "4000.01"}],
                                       [cert(a, 1, 1)], expect=422)
        assert {e["code"] for e in too_much["errors"]} == {"invoice_above_due"}
        not_yet = await money.invoice([{"contract_id": a, "funding_year": 1, "advance": 2}], expect=422)
        assert {e["code"] for e in not_yet["errors"]} == {"advance_not_due_yet"}
        first = await money.invoice([{"contract_id": a, "funding_year": 1, "advance": 1}])
        assert first["number"] == f"F-{CFA_A}-2024-00001" and first["total"] == "4000.00"
        again = await money.invoice([{"contract_id": a, "funding_year": 1, "advance": 1}], expect=409)
        assert again["errors"][0]["code"] == "advance_already_invoiced"
        missing = await money.accept(first, expect=422)
        assert missing["errors"][0]["code"] == "certificate_missing"
        await money.call("POST", f"/v1/financing/invoices/{first['invoice_id']}/certificates", keys.cfa_a,
                         json=cert(a, 1, 1), headers={"If-Match": '"1"'})
        stale = await money.call("POST", f"/v1/financing/invoices/{first['invoice_id']}/acceptance", keys.opco_x,
                                 412, json={}, headers={"If-Match": '"1"'})
        assert stale["current_version"] == 2
        await money.accept(first)
        before_payment = datetime.now(timezone.utc).isoformat()
        unpayable = await money.call("POST", "/v1/financing/payments", keys.opco_x, 422, json={
            "cfa_uai": CFA_A, "amount": "5000.00", "paid_on": "2024-11-15", "bank_reference": "VIR-1",
            "allocations": [{"invoice_id": first["invoice_id"], "amount": "4000.01"}]})
        assert unpayable["errors"][0]["code"] == "payment_over_allocation"
        await money.call("POST", "/v1/financing/payments", keys.opco_x, 201, json={
            "cfa_uai": CFA_A, "amount": "4000.00", "paid_on": "2024-11-15", "bank_reference": "VIR-1",
            "allocations": [{"invoice_id": first["invoice_id"], "amount": "4000.00"}]})
        [bal] = await money.balance()
        assert (bal["invoiced"], bal["paid"], bal["balance"]) == ("4000.00", "4000.00", "0.00")
        then = await money.call("GET", "/v1/financing/balances", keys.cfa_a, params={"as_of": before_payment})
        assert (then["balances"][0]["paid"], then["balances"][0]["outstanding"]) == ("0.00", "4000.00")
        was = await money.call("GET", f"/v1/financing/invoices/{first['invoice_id']}", keys.cfa_a,
                               params={"as_of": before_payment})
        assert (was["status"], was["paid"]) == ("accepted", "0.00")

        # the rupture shrinks funding year 1 to 5 months: 3333.33; the first advance is now 1666.67
        await api.rupture(a, on="2025-01-15", continues=False)

        async def shrunk():
            schedule = await advances_of(financing, keys.cfa_a, a)
            return schedule and len(schedule) == 2 and schedule[0]["amount"] == "1666.67" and schedule
        schedule = await eventually(shrunk, what="the rupture in the projection")
        assert schedule[0]["status"] == "overpaid"
        clock.set(date(2025, 1, 20))
        report = await money.report()
        assert [(l["code"], l["expected"]) for l in report["lines"] if l["severity"] == "error"] == [
            ("invoice_above_due", "1666.67")]
        assert await propose_all(SqlUnitOfWork(financing.app.state.engine), clock.today()) == 1
        assert await propose_all(SqlUnitOfWork(financing.app.state.engine), clock.today()) == 0   # proposed once
        [bal] = await money.balance()
        assert (bal["to_regularise"], bal["balance"], bal["status"]) == ("-2333.33", "-2333.33", "overpaid")
        [reg] = [l for l in (await money.report())["lines"] if l["code"] == "regularisation_open"]
        assert reg["amount"] == "-2333.33" and "contract.ruptured (2025-01-15)" in reg["message"]

        # the rest of year 1 (under 12 months now: R2019 pays its balance at the end), at its shrunk amount;
        # smaller than what is owed back, so the regularisation waits for a larger invoice
        clock.set(date(2025, 6, 2))
        rest = await money.settle([{"contract_id": a, "funding_year": 1, "advance": 2}], [cert(a, 1, 2)], clock, "VIR-A2")
        assert (rest["total"], len(rest["lines"])) == ("1666.66", 1)

        # the rehire: a level 6 contract under R2025 with the same OPCO; the employer pays 200 (after a rupture)
        b, schedule = await funded(api, financing, keys, apprentice=apprentice, signed_on="2025-09-01",
                                   start_date="2025-09-08", planned_end_date="2026-06-30", contract_type="23",
                                   previous_contract_id=a, certification={"rncp": "RNCP35185", "level": 6},
                                   transmitted_on="2025-09-09", decided_on="2025-09-15", deposited_on="2025-09-20",
                                   deposit_number="075202509000456", first_due_on="2025-10-20", advances=4)
        assert schedule[0]["employer_contribution"] == "200.00"
        clock.set(date(2025, 10, 21))
        [ready] = await money.invoiceable()
        assert [r["amount"] for r in ready["regularisations"]] == ["-2333.33"]
        nets = await money.settle([{"contract_id": b, "funding_year": 1, "advance": 1}],
                                  [cert(b, 1, 1, start="2025-09-08", end="2025-10-20")], clock, "VIR-B1")
        # 296 days of 365 at 8000: 6487.67; 40 % is 2595.07, less the employer's 200 = 2395.07
        assert [(l["kind"], l["amount"]) for l in nets["lines"]] == [("advance", "2395.07"),
                                                                      ("regularisation", "-2333.33")], nets
        assert nets["total"] == "61.74" and nets["lines"][0]["employer_contribution"] == "200.00"
        clock.set(date(2026, 6, 10))
        for n in (2, 3):
            await money.settle([{"contract_id": b, "funding_year": 1, "advance": n}],
                               [cert(b, 1, n, start="2025-09-08", end="2026-06-09")], clock, f"VIR-B{n}")
        await api.command(b, "completion", {"ended_on": "2026-06-30", "diploma_obtained": True}, keys.cfa_a)
        clock.set(date(2026, 7, 15))

        async def balance_due():
            [ready] = await money.invoiceable() or [None]
            return ready
        ready = await eventually(balance_due, what="the R2025 balance of B")
        assert [(r["advance"], r["certificates_needed"]) for r in ready["advances"]] == [
            (4, ["completion_attestation"])]
        no_attestation = await money.invoice([{"contract_id": b, "funding_year": 1, "advance": 4}], expect=422)
        assert {e["code"] for e in no_attestation["errors"]} == {"certificate_missing"}
        await money.settle([{"contract_id": b, "funding_year": 1, "advance": 4}],
                           [cert(b, 1, 4, kind="completion_attestation", scope="final", start="2025-09-08",
                                 end="2026-06-30")], clock, "VIR-B4")

        [bal] = await money.balance()
        assert (bal["balance"], bal["to_regularise"], bal["outstanding"], bal["status"]) == (
            "0.00", "0.00", "0.00", "settled")
        assert bal["employer_contribution_deducted"] == "200.00"
        report = await money.report()
        assert report["lines"] == [], report["lines"]
        for contract in (a, b):
            statuses = {s["status"] for s in await advances_of(financing, keys.cfa_a, contract)}
            assert statuses == {"paid"}, (contract, statuses)
        listed = (await money.call("GET", "/v1/financing/invoices?limit=500", keys.opco_x))["items"]
        numbers = [i["number"] for i in listed]
        # the same after the projection is rebuilt from the log and swapped in
        before = (await money.balance(), await money.report(), listed,
                  [await advances_of(financing, keys.cfa_a, c) for c in (a, b)])
        swapped = ops(financing.app.state.settings, "rebuild", "financing", "--source", "feed", "--swap")
        assert swapped.returncode == 0, swapped.stderr
        after = (await money.balance(), await money.report(),
                 (await money.call("GET", "/v1/financing/invoices?limit=500", keys.opco_x))["items"],
                 [await advances_of(financing, keys.cfa_a, c) for c in (a, b)])
        assert after == before
        verified = ops(financing.app.state.settings, "verify", "financing", "--source", "feed")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        page = await financing.get(f"/v1/financing/invoices/{listed[-1]['invoice_id']}.html", headers=H(keys.opco_x))
        assert page.status_code == 200 and listed[-1]["number"] in page.text and "FACTURE" in page.text
        assert numbers == [f"F-{CFA_A}-{y}-{n:05d}" for y, n in
                           [(2024, 1), (2025, 1), (2025, 2), (2026, 1), (2026, 2), (2026, 3)]]
