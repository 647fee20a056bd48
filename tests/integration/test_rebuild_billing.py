"""The money loop's rows (invoices, lines, payments, regularisations, document numbers) rebuilt by
``parcours ops rebuild financing`` from the financing store's money events, checked by ``verify``,
and swapped in without losing what commands write meanwhile (issue 16)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from operations.projections import FINANCING, parse_document_number
from operations.rebuild import compare, from_feed, from_ledger, prepare, swap, target_schema
from services.financing.adapters.billing_store import SqlBilling
from services.financing.adapters.sql_unit_of_work import SqlUnitOfWork
from services.financing.application.accounts import refold
from services.financing.domain.billing import (document_number, invoice_stream, ledger_key, money, payment_stream,
                                               regularisation_stream)
from shared.eventstore.model import NewEvent, StreamAppend
from shared.eventstore.store import EventStore
from tests.support import CFA_A, CFA_B, OPCO_X, OPCO_Y

store = EventStore("financing")
BILLING = list(FINANCING.ledger)


def ops(settings, *args, **env):
    return subprocess.run([sys.executable, "-m", "operations.cli", "ops", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PARCOURS_DATABASE_URL": settings.database_url,
                                            "PARCOURS_TOPIC_PREFIX": settings.topic_prefix, **env})


async def append(conn, account, appends):
    """What a money command does (accounts.record): its events, then the folded rows, one transaction."""
    ledger = ledger_key(*account)
    await store.append(conn, [StreamAppend(s, v, [NewEvent(t, d, metadata={"ledger": ledger, "partitionkey": ledger,
                                                                            "actor": "test"}) for t, d in evs])
                              for s, v, evs in appends])


async def command(engine, account, appends):
    async with engine.begin() as conn:
        await append(conn, account, appends)
        await refold(SqlUnitOfWork.joining(conn), {s for s, _, _ in appends})


class Books:
    """Invoices, credit notes, payments and regularisations written as the commands write them."""

    def __init__(self, engine):
        self.engine = engine
        self.versions: dict[str, int] = {}

    def at(self, stream: str, n: int = 1) -> int:
        v = self.versions.get(stream, 0)
        self.versions[stream] = v + n
        return v

    async def number(self, conn, cfa: str, year: int) -> int:
        return await SqlBilling(conn).next_number(cfa, year)

    async def issue(self, cfa, opco, on: date, lines, settles=()) -> str:
        invoice_id = str(uuid.uuid4())
        async with self.engine.begin() as conn:
            n = await self.number(conn, cfa, on.year)
            issued = {"invoice_id": invoice_id, "number": document_number("F", cfa, on.year, n), "cfa_uai": cfa,
                      "cfa_siret": "98765432400019", "opco": opco, "issued_on": on.isoformat(),
                      "payment_due_on": (on + timedelta(days=30)).isoformat(), "lines": lines,
                      "total": money(sum(float(l["amount"]) for l in lines))}
            appends = [(invoice_stream(invoice_id), self.at(invoice_stream(invoice_id)), [("invoice.issued", issued)])]
            for reg, (contract, fy, adv), amount in settles:
                stream = regularisation_stream(contract, fy, adv)
                appends.append((stream, self.at(stream), [("regularisation.settled", {
                    "regularisation_id": reg, "invoice_id": invoice_id, "settled_on": on.isoformat(),
                    "amount": amount})]))
            await append(conn, (cfa, opco), appends)
            await refold(SqlUnitOfWork.joining(conn), {s for s, _, _ in appends})
        return invoice_id

    async def on_invoice(self, account, invoice_id, event_type, data):
        s = invoice_stream(invoice_id)
        await command(self.engine, account, [(s, self.at(s), [(event_type, {"invoice_id": invoice_id, **data})])])

    async def cancel(self, cfa, opco, invoice_id, on: date, total: str):
        async with self.engine.begin() as conn:
            n = await self.number(conn, cfa, on.year)
            s = invoice_stream(invoice_id)
            appends = [(s, self.at(s), [("invoice.cancelled", {
                "invoice_id": invoice_id, "cancelled_on": on.isoformat(), "reason": "erreur",
                "credit_note_number": document_number("A", cfa, on.year, n), "credit_note_total": total})])]
            await append(conn, (cfa, opco), appends)
            await refold(SqlUnitOfWork.joining(conn), {s})

    async def pay(self, cfa, opco, on: date, amount: str, ref: str, allocations: dict[str, str]) -> str:
        payment_id = str(uuid.uuid4())
        appends = [(payment_stream(payment_id), self.at(payment_stream(payment_id)), [("payment.recorded", {
            "payment_id": payment_id, "opco": opco, "cfa_uai": cfa, "amount": amount, "paid_on": on.isoformat(),
            "bank_reference": ref, "allocations": [{"invoice_id": i, "amount": a} for i, a in allocations.items()]})])]
        for invoice_id, a in allocations.items():
            s = invoice_stream(invoice_id)
            appends.append((s, self.at(s), [("payment.allocated", {"invoice_id": invoice_id, "payment_id": payment_id,
                                                                   "amount": a, "paid_on": on.isoformat()})]))
        await command(self.engine, (cfa, opco), appends)
        return payment_id

    async def propose(self, cfa, opco, key, invoice_id, amount: str, on: date) -> str:
        reg = str(uuid.uuid4())
        s = regularisation_stream(*key)
        await command(self.engine, (cfa, opco), [(s, self.at(s), [("regularisation.proposed", {
            "regularisation_id": reg, "contract_id": key[0], "funding_year": key[1], "advance": key[2],
            "cfa_uai": cfa, "opco": opco, "amount": amount, "invoiced": "4000.00", "due_now": "1666.67",
            "invoice_id": invoice_id, "reason": "rupture", "caused_by": [{"type": "contract.ruptured"}],
            "proposed_on": on.isoformat()})])])
        return reg


def advance(contract, fy, adv, amount, **extra):
    return {"kind": "advance", "contract_id": contract, "funding_year": fy, "advance": adv, "amount": amount,
            "label": f"Avance {adv}", **extra}


CERT = {"certificate_id": "c1", "kind": "realisation", "scope": "intermediate", "contract_id": "C1",
        "funding_year": 1, "advance": 1, "period_start": "2024-09-01", "period_end": "2024-10-31", "hours": "120",
        "reference": "CR-1", "attached_on": "2024-11-15"}


async def write_books(engine) -> dict:
    """Two accounts: invoices accepted and paid (in full, in part), one rejected, one cancelled by a
    credit note and its advance invoiced again, a regularisation proposed and netted."""
    b = Books(engine)
    a, other = (CFA_A, OPCO_X), (CFA_B, OPCO_Y)
    i1 = await b.issue(*a, date(2024, 11, 15), [advance("C1", 1, 1, "4000.00", employer_contribution="750.00"),
                                                 {"kind": "fee", "contract_id": "C1", "funding_year": 1, "advance": 1,
                                                  "amount": "120.00", "claim_id": "claim-1", "label": "Frais"}])
    await b.on_invoice(a, i1, "invoice.certificate_attached", {"certificate": CERT})
    await b.on_invoice(a, i1, "invoice.accepted", {"decided_on": "2024-11-20"})
    await b.pay(*a, date(2024, 11, 25), "4120.00", "VIR-1", {i1: "4120.00"})
    i2 = await b.issue(*a, date(2025, 1, 10), [advance("C1", 1, 2, "2000.00")])
    await b.cancel(*a, i2, date(2025, 1, 12), "2000.00")
    i3 = await b.issue(*a, date(2025, 1, 13), [advance("C1", 1, 2, "1666.66")])      # the same advance again
    await b.on_invoice(a, i3, "invoice.accepted", {"decided_on": "2025-01-20"})
    await b.pay(*a, date(2025, 1, 25), "1000.00", "VIR-2", {i3: "1000.00"})          # in part
    reg = await b.propose(*a, ("C1", 1, 1), i1, "2333.33", date(2025, 1, 20))
    i4 = await b.issue(*a, date(2025, 10, 21), [advance("C2", 1, 1, "2395.07"),
                                                 {"kind": "regularisation", "contract_id": "C1", "funding_year": 1,
                                                  "advance": 1, "amount": "-2333.33", "regularisation_id": reg,
                                                  "label": "Régularisation"}],
                       settles=[(reg, ("C1", 1, 1), "2333.33")])
    j1 = await b.issue(*other, date(2025, 2, 1), [advance("C9", 1, 1, "3000.00")])
    await b.on_invoice(other, j1, "invoice.rejected", {"decided_on": "2025-02-03", "motive": "not_due",
                                                       "comment": None})
    return {"books": b, "invoices": [i1, i2, i3, i4, j1]}


async def rows(engine, schema: str) -> dict[str, list[tuple]]:
    out = {}
    async with engine.connect() as conn:
        for table in BILLING:
            keys = ", ".join(FINANCING.tables[table])
            out[table] = [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {schema}.{table} ORDER BY {keys}"))]
    return out


async def test_rebuild_verify_and_swap_the_money_rows(isolated):
    settings, engine = isolated
    written = await write_books(engine)
    live = await rows(engine, "financing")
    assert len(live["billing_invoices"]) == 5 and len(live["billing_payments"]) == 2
    assert len(live["billing_regularisations"]) == 1
    assert sorted(live["document_numbers"]) == [(CFA_A, 2024, 1), (CFA_A, 2025, 4), (CFA_B, 2025, 1)]

    verified = ops(settings, "verify", "financing", "--source", "feed")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count(": equal") == len(FINANCING.tables)
    for table in BILLING:
        assert f"{table}: live" in verified.stdout

    # interrupted in the money events (batches of 3), resumed
    killed = ops(settings, "rebuild", "financing", "--source", "feed", "--batch", "3",
                 PARCOURS_REBUILD_CRASH_AFTER_BATCHES="2")
    assert killed.returncode == 137, killed.stderr
    resumed = ops(settings, "rebuild", "financing", "--source", "feed", "--batch", "3")
    assert resumed.returncode == 0, resumed.stderr
    async with engine.connect() as conn:
        total = await conn.scalar(text("SELECT count(*) FROM financing.events WHERE metadata ? 'ledger'"))
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["money_events"] == total - 2 * 3
    assert await rows(engine, "financing_rebuild") == live
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_rebuild"))

    swapped = ops(settings, "rebuild", "financing", "--source", "feed", "--swap")
    assert swapped.returncode == 0, swapped.stderr
    out = json.loads(swapped.stdout.strip().splitlines()[-1])
    assert out["swapped"] is True and out["money_events"] == total
    assert await rows(engine, "financing") == live
    assert all(r.equal for r in await compare(engine, FINANCING, "financing_previous"))

    # the numbers go on where they stopped, in the swapped-in table
    b = written["books"]
    i5 = await b.issue(CFA_A, OPCO_X, date(2025, 11, 2), [advance("C2", 1, 2, "100.00")])
    async with engine.connect() as conn:
        number = await conn.scalar(text("SELECT number FROM financing.billing_invoices WHERE invoice_id = :i"),
                                   {"i": i5})
        assert parse_document_number(number) == (CFA_A, 2025, 5)
        assert await conn.scalar(text("SELECT count(*) FROM financing_previous.billing_invoices "
                                      "WHERE invoice_id = :i"), {"i": i5}) == 0
    assert ops(settings, "drop-previous", "financing").stdout.strip() == "dropped"

    # damage a live invoice: verify names it
    victim = written["invoices"][2]
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE financing.billing_invoices SET total = total + 1 WHERE invoice_id = :i"),
                           {"i": victim})
    damaged = ops(settings, "verify", "financing", "--source", "feed")
    assert damaged.returncode == 1
    assert "billing_invoices: live 6 rows" in damaged.stdout and "DIFFERENT" in damaged.stdout
    assert f"differs: {victim}" in damaged.stdout
    assert [l for l in damaged.stdout.splitlines() if "DIFFERENT" in l][0].startswith("billing_invoices")


async def test_the_swap_catches_up_with_money_commands_meanwhile(isolated):
    """Commands committed after the rebuild read, one holding a money table when the swap starts
    (the swap waits for it), one that appended its events but has written no row yet (it writes
    them, after the swap, into the tables swapped in): every row is there, the numbers go on."""
    settings, engine = isolated
    written = await write_books(engine)
    b: Books = written["books"]
    target = target_schema(FINANCING)
    assert await prepare(engine, FINANCING, target, "feed") is None
    await from_feed(engine, FINANCING, target, None, lambda *_: None)
    await from_ledger(engine, FINANCING, target, lambda *_: None, batch=4)

    # committed after the rebuild: accepted, a new invoice (number 5 of 2025), a payment
    i3, i4 = written["invoices"][2], written["invoices"][3]
    await b.on_invoice((CFA_A, OPCO_X), i4, "invoice.accepted", {"decided_on": "2025-10-25"})
    i5 = await b.issue(CFA_A, OPCO_X, date(2025, 11, 2), [advance("C2", 1, 2, "100.00")])
    await b.pay(CFA_A, OPCO_X, date(2025, 11, 3), "666.66", "VIR-3", {i3: "666.66"})

    # holding billing_invoices (its rows written, not committed) when the swap starts
    holder = await engine.connect()
    await holder.begin()
    i6 = str(uuid.uuid4())
    n6 = await SqlBilling(holder).next_number(CFA_A, 2025)
    s6 = invoice_stream(i6)
    await append(holder, (CFA_A, OPCO_X), [(s6, 0, [("invoice.issued", {
        "invoice_id": i6, "number": document_number("F", CFA_A, 2025, n6), "cfa_uai": CFA_A, "cfa_siret": None,
        "opco": OPCO_X, "issued_on": "2025-11-04", "payment_due_on": "2025-12-04",
        "lines": [advance("C2", 1, 3, "50.00")], "total": "50.00"})])])
    await refold(SqlUnitOfWork.joining(holder), {s6})
    # events appended, no money row touched yet (attach a certificate to i5)
    late = await engine.connect()
    await late.begin()
    s5 = invoice_stream(i5)
    await append(late, (CFA_A, OPCO_X), [(s5, 1, [("invoice.certificate_attached", {
        "invoice_id": i5, "certificate": {**CERT, "contract_id": "C2", "advance": 2}})])])

    swapping = asyncio.create_task(swap(engine, FINANCING, target))
    await asyncio.sleep(1.5)
    assert not swapping.done()          # waiting for the holder, giving its locks back between attempts
    await holder.commit()
    await holder.close()
    done = await asyncio.wait_for(swapping, 60)
    assert done.late_money_events >= 4 + 1     # the four commands above (events after the stored cursor)
    await refold(SqlUnitOfWork.joining(late), {s5})   # after the swap: into the tables now live
    await late.commit()
    await late.close()

    async with engine.connect() as conn:
        versions = dict((await conn.execute(text("SELECT invoice_id, version FROM financing.billing_invoices "
                                                 "WHERE invoice_id = ANY(:ids)"), {"ids": [i4, i5, i6]})).all())
        assert versions == {i4: 2, i5: 2, i6: 1}
        assert await conn.scalar(text("SELECT paid FROM financing.billing_invoices WHERE invoice_id = :i"),
                                 {"i": i3}) == Decimal("1666.66")
        assert await conn.scalar(text("SELECT last FROM financing.document_numbers WHERE cfa_uai = :c "
                                      "AND year = 2025"), {"c": CFA_A}) == 6
        n7 = await SqlBilling(conn).next_number(CFA_A, 2025)
        await conn.rollback()
    assert n7 == 7
    verified = ops(settings, "verify", "financing", "--source", "feed")
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_through_the_api_the_swapped_rows_serve_and_numbers_go_on():
    """A contract's first advance invoiced, accepted and paid through HTTP; the rebuild swapped in
    under the running service; its next invoice takes the next number, in the tables swapped in."""
    from tests.integration.lifecycle_api import ContractsApi
    from tests.integration.test_money_loop import Money, cert, funded, money_stack

    async with money_stack() as (contracts, financing, keys, clock):
        api, money_ = ContractsApi(contracts, keys), Money(financing, keys)
        a, _ = await funded(api, financing, keys, signed_on="2024-08-26", start_date="2024-09-01",
                            planned_end_date="2026-08-31", transmitted_on="2024-09-02", decided_on="2024-09-20",
                            deposited_on="2024-10-12", first_due_on="2024-11-11", advances=6)
        clock.set(date(2024, 11, 15))
        line = [{"contract_id": a, "funding_year": 1, "advance": 1}]
        first = await money_.invoice(line, [cert(a, 1, 1)])
        assert first["number"] == f"F-{CFA_A}-2024-00001"
        await money_.accept(first)
        listed = await money_.call("GET", "/v1/financing/invoices", keys.opco_x)

        settings = financing.app.state.settings
        swapped = ops(settings, "rebuild", "financing", "--source", "feed", "--swap")
        assert swapped.returncode == 0, swapped.stderr
        assert json.loads(swapped.stdout.strip().splitlines()[-1])["money_events"] == 3
        assert await money_.call("GET", "/v1/financing/invoices", keys.opco_x) == listed

        # the running service writes into the tables swapped in; the sequence goes on there
        cancelled = await money_.call("POST", f"/v1/financing/invoices/{first['invoice_id']}/cancellation",
                                      keys.cfa_a, json={"reason": "erreur de période"})
        assert cancelled["credit_note"]["number"] == f"A-{CFA_A}-2024-00002"
        again = await money_.settle(line, [cert(a, 1, 1)], clock, "VIR-1")
        assert again["number"] == f"F-{CFA_A}-2024-00003"
        [bal] = await money_.balance()
        assert (bal["invoiced"], bal["paid"]) == ("4000.00", "4000.00")
        async with financing.app.state.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM financing_previous.billing_invoices")) == 1
            assert await conn.scalar(text("SELECT count(*) FROM financing.billing_invoices")) == 2
            assert await conn.scalar(text("SELECT last FROM financing.document_numbers")) == 3
        verified = ops(settings, "verify", "financing", "--source", "feed")
        assert verified.returncode == 0, verified.stdout + verified.stderr
