"""The money loop's SQL (docs/billing.md): its events in the financing store (every one naming its
account, ``metadata.ledger``), the folded invoices, payments and regularisations kept as rows for
queries, the gap-free document numbers, and what billing reads of the funding projection (the
advances as computed now, the frais annexes claimed on them)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Collection

from sqlalchemy import ARRAY, Text, and_, any_, bindparam, or_, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.financing.adapters.financing_tables import (SCHEMA, advances, billing_invoices, billing_lines,
                                                          billing_payments, billing_regularisations,
                                                          contract_events, document_numbers, fees, lines)
from services.financing.application.unit_of_work import AlreadyBilled, FeeRecord, LedgerEvent, StreamChanged
from services.financing.domain.billing import (AdvanceKey, AdvanceNow, Invoice, Payment, Regularisation)
from services.financing.domain.policy import SCHEDULES
from shared.db import delete_many, insert_many, table_name
from shared.eventstore.model import ConcurrencyConflict, NewEvent, StreamAppend
from shared.eventstore.store import EventStore

store = EventStore(SCHEMA)
ATTESTATION_ADVANCE = len(SCHEDULES["R2025"])   # the R2025 balance, paid on the completion attestation


class SqlBilling:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    # -- numbers and events -----------------------------------------------------------------------
    async def next_number(self, cfa_uai: str, year: int) -> int:
        """The next document number of this CFA and year. The row stays locked until the
        transaction ends: concurrent issuers queue, and a rollback gives the number back."""
        t = table_name(self.conn, document_numbers)
        return await self.conn.scalar(text(
            f"INSERT INTO {t} AS n (cfa_uai, year, last) VALUES (:c, :y, 1) "
            "ON CONFLICT (cfa_uai, year) DO UPDATE SET last = n.last + 1 RETURNING last"), {"c": cfa_uai, "y": year})

    async def append(self, appends: list[tuple[str, int, list[tuple[str, dict]]]], ledger: str,
                     actor: str) -> list[LedgerEvent]:
        try:
            recorded = await store.append(self.conn, [StreamAppend(stream, expected, [
                NewEvent(t, d, metadata={"partitionkey": ledger, "ledger": ledger, "actor": actor})
                for t, d in events]) for stream, expected, events in appends])
        except ConcurrencyConflict as exc:
            raise StreamChanged(exc.stream_id) from None
        return [LedgerEvent(str(r.event_id), r.stream_id, r.type, r.data, r.recorded_at, r.global_position)
                for r in recorded]

    async def stream(self, stream_id: str, recorded_until: datetime | None = None) -> list[LedgerEvent]:
        return [LedgerEvent(str(r.event_id), r.stream_id, r.type, r.data, r.recorded_at, r.global_position)
                for r in await store.read_stream(self.conn, stream_id, recorded_until=recorded_until)]

    async def streams(self, stream_ids: Collection[str]) -> dict[str, list[LedgerEvent]]:
        """Several streams in one query."""
        return {sid: [LedgerEvent(str(r.event_id), r.stream_id, r.type, r.data, r.recorded_at, r.global_position)
                      for r in events] for sid, events in (await store.read_streams(self.conn, stream_ids)).items()}

    async def ledger_events(self, ledgers: Collection[str], recorded_until: datetime | None = None) -> list[LedgerEvent]:
        """Every money event of these accounts, in the order recorded (one query)."""
        e = store.tables.events.c
        q = (select(e.event_id, e.stream_id, e.type, e.data, e.recorded_at, e.global_position)
             .where(e.metadata.has_key("ledger"),   # the partial index events_ledger's condition: it is used
                    e.metadata["ledger"].astext == any_(bindparam("ledgers", list(ledgers), ARRAY(Text))))
             .order_by(e.global_position))
        if recorded_until is not None:
            q = q.where(e.recorded_at <= recorded_until)
        return [LedgerEvent(str(r.event_id), r.stream_id, r.type, r.data, r.recorded_at, r.global_position)
                for r in await self.conn.execute(q)]

    async def ledgers(self, cfa: str | None, opco: str | None) -> list[tuple[str, str]]:
        """The accounts (CFA UAI, OPCO) with advances or money events, for a CFA (UAI or SIRET)
        and/or an OPCO; both None: every account."""
        a, i, p = advances.c, billing_invoices.c, billing_payments.c
        q1 = select(a.cfa_uai, a.opco).where(a.cfa_uai.is_not(None), a.opco.is_not(None))
        q2 = select(i.cfa_uai, i.opco)
        q3 = select(p.cfa_uai, p.opco)
        if cfa is not None:
            q1 = q1.where(or_(a.cfa_uai == cfa, a.cfa_siret == cfa))
            q2 = q2.where(or_(i.cfa_uai == cfa, i.cfa_siret == cfa))
            q3 = q3.where(p.cfa_uai == cfa)
        if opco is not None:
            q1, q2, q3 = q1.where(a.opco == opco), q2.where(i.opco == opco), q3.where(p.opco == opco)
        rows = await self.conn.execute(q1.union(q2, q3))
        return sorted((r[0], r[1]) for r in rows)

    # -- what billing reads of the funding projection --------------------------------------------
    def _advance_query(self):
        a = advances.c
        return (select(a.contract_id, a.funding_year, a.advance, a.opco, a.cfa_uai, a.cfa_siret, a.amount, a.due_on,
                       a.latest_on, a.employer_contribution, lines.c.regime)
                .join(lines, and_(lines.c.contract_id == a.contract_id, lines.c.funding_year == a.funding_year)))

    @staticmethod
    def _advance(r) -> AdvanceNow:
        return AdvanceNow(r.contract_id, r.funding_year, r.advance, r.opco, r.cfa_uai, r.cfa_siret, r.amount,
                          r.due_on, r.latest_on, r.regime == "R2025" and r.advance == ATTESTATION_ADVANCE,
                          r.employer_contribution)

    async def advances_at(self, keys: Collection[AdvanceKey]) -> dict[AdvanceKey, AdvanceNow]:
        if not keys:
            return {}
        a = advances.c
        ks = list(keys)
        q = self._advance_query().where(tuple_(a.contract_id, a.funding_year, a.advance).in_(ks))
        return {(r.contract_id, r.funding_year, r.advance): self._advance(r) for r in await self.conn.execute(q)}

    async def advances_of(self, ledgers: Collection[tuple[str, str]]) -> list[AdvanceNow]:
        a = advances.c
        q = self._advance_query().where(tuple_(a.cfa_uai, a.opco).in_(list(ledgers))) if ledgers else None
        if q is None:
            return []
        return [self._advance(r) for r in await self.conn.execute(q.order_by(a.due_on, a.contract_id, a.funding_year,
                                                                             a.advance))]

    async def overshot(self, accounts: Collection[tuple[str, str]] | None) -> list[tuple[AdvanceKey, str, str]]:
        """The advances on an active invoice above what is due on them now, net of the
        regularisations of that invoice (of these accounts; None: every account), with their
        account: one query, so that a pass with nothing to propose folds nothing."""
        lines_t, invoices_t = table_name(self.conn, billing_lines), table_name(self.conn, billing_invoices)
        advances_t, regs_t = table_name(self.conn, advances), table_name(self.conn, billing_regularisations)
        params: dict = {}
        where = ""
        if accounts is not None:
            where = "AND (i.cfa_uai, i.opco) IN (SELECT * FROM unnest(CAST(:cfas AS text[]), CAST(:opcos AS text[])))"
            params = {"cfas": [c for c, _ in accounts], "opcos": [o for _, o in accounts]}
        rows = await self.conn.execute(text(
            f"SELECT l.contract_id, l.funding_year, l.advance, i.cfa_uai, i.opco FROM {lines_t} l "
            f"JOIN {invoices_t} i USING (invoice_id) "
            f"LEFT JOIN {advances_t} a ON (a.contract_id, a.funding_year, a.advance) = "
            "(l.contract_id, l.funding_year, l.advance) "
            f"LEFT JOIN (SELECT document->>'invoice_id' AS invoice_id, contract_id, funding_year, advance, "
            f"sum(amount) AS amount FROM {regs_t} GROUP BY 1, 2, 3, 4) r ON r.invoice_id = l.invoice_id "
            "AND (r.contract_id, r.funding_year, r.advance) = (l.contract_id, l.funding_year, l.advance) "
            f"WHERE l.kind = 'advance' AND l.active AND l.amount - coalesce(r.amount, 0) > coalesce(a.amount, 0) {where}"),
            params)
        return [((r.contract_id, r.funding_year, r.advance), r.cfa_uai, r.opco) for r in rows]

    async def fees_on(self, keys: Collection[AdvanceKey]) -> list[FeeRecord]:
        """The frais annexes placed on these advances' invoices (claims of the contract billed)."""
        if not keys:
            return []
        f = fees.c
        q = (select(f.claim_id, f.apprentice_id, f.contract_id, f.opco, f.cfa_uai, f.kind, f.day, f.quantity,
                    f.amount, f.funding_year, f.advance)
             .where(tuple_(f.contract_id, f.funding_year, f.advance).in_(list(keys))).order_by(f.day, f.kind))
        return [FeeRecord(**r._mapping) for r in await self.conn.execute(q)]

    async def changes_since(self, contract_ids: Collection[str], since: datetime) -> list[dict]:
        """The contract events recorded after ``since`` for these contracts (what shrank a funding
        year after it was invoiced): id, type, contract and business date."""
        c = contract_events.c
        q = (select(c.event_id, c.type, c.contract_id, c.data).where(
            c.contract_id == any_(bindparam("cids", list(contract_ids), ARRAY(Text))), c.recorded_at > since,
            c.type.not_in(["contract.signed", "contract.transmitted", "contract.deposited"])).order_by(c.arrival))
        out = []
        for r in await self.conn.execute(q):
            on = next((v for k, v in r.data.items() if k.endswith("_on") and isinstance(v, str)), None)
            out.append({"event_id": str(r.event_id), "type": r.type, "contract_id": r.contract_id, "on": on})
        return out

    # -- the folded states, kept as rows ----------------------------------------------------------
    async def save(self, invoices: list[tuple[Invoice, int]] = (), payments: list[Payment] = (),
                   regularisations: list[Regularisation] = ()) -> None:
        """Upsert the folded states (an invoice with the position of its issue, the paging key);
        the lines of an invoice are rewritten with it. Raises AlreadyBilled when a line is on
        another active invoice."""
        if invoices:
            await insert_many(self.conn, billing_invoices, [
                {"invoice_id": inv.invoice_id, "number": inv.number, "cfa_uai": inv.cfa_uai,
                 "cfa_siret": inv.cfa_siret, "opco": inv.opco, "issued_on": inv.issued_on,
                 "payment_due_on": inv.payment_due_on, "status": inv.status, "total": inv.total, "paid": inv.paid,
                 "version": inv.version, "seq": seq, "document": inv.as_dict()} for inv, seq in invoices],
                upsert_on=("invoice_id",))
            await delete_many(self.conn, billing_lines, [{"invoice_id": inv.invoice_id} for inv, _ in invoices])
            try:
                async with self.conn.begin_nested():
                    await insert_many(self.conn, billing_lines, [
                        {"invoice_id": inv.invoice_id, "line_no": n, "kind": l.kind, "contract_id": l.contract_id,
                         "funding_year": l.funding_year, "advance": l.advance, "claim_id": l.claim_id,
                         "regularisation_id": l.regularisation_id, "amount": l.amount, "active": inv.active}
                        for inv, _ in invoices for n, l in enumerate(inv.lines, start=1)])
            except IntegrityError:
                raise AlreadyBilled("line") from None
        if payments:
            try:
                async with self.conn.begin_nested():
                    await insert_many(self.conn, billing_payments, [
                        {"payment_id": p.payment_id, "opco": p.opco, "cfa_uai": p.cfa_uai, "amount": p.amount,
                         "allocated": p.allocated, "paid_on": p.paid_on, "bank_reference": p.bank_reference,
                         "document": p.as_dict()} for p in payments], upsert_on=("payment_id",))
            except IntegrityError:
                raise AlreadyBilled("payment") from None
        if regularisations:
            await insert_many(self.conn, billing_regularisations, [
                {"regularisation_id": r.regularisation_id, "contract_id": r.contract_id,
                 "funding_year": r.funding_year, "advance": r.advance, "cfa_uai": r.cfa_uai, "opco": r.opco,
                 "amount": r.amount, "settled_by": r.settled_by, "document": r.as_dict()} for r in regularisations],
                upsert_on=("regularisation_id",))

    async def set_numbers(self, last: dict[tuple[str, int], int]) -> None:
        """The last document number of each CFA and year, never lowered (a rebuild sets them from
        the invoices and credit notes it folds)."""
        t = table_name(self.conn, document_numbers)
        await self.conn.execute(text(
            f"INSERT INTO {t} AS n (cfa_uai, year, last) SELECT * FROM unnest(CAST(:c AS text[]), CAST(:y AS int[]), "
            "CAST(:l AS int[])) ON CONFLICT (cfa_uai, year) DO UPDATE SET last = GREATEST(n.last, EXCLUDED.last)"),
            {"c": [c for c, _ in last], "y": [y for _, y in last], "l": list(last.values())})

    async def payment_with_reference(self, opco: str, bank_reference: str) -> str | None:
        p = billing_payments.c
        return await self.conn.scalar(select(p.payment_id).where(p.opco == opco, p.bank_reference == bank_reference))

    async def invoice_documents(self, *, cfa: str | None, opco: str | None, status: str | None,
                                cfa_uai: str | None, issued_from: date | None, issued_to: date | None,
                                after_seq: int, limit: int) -> list[tuple[int, dict]]:
        """A page of invoices in issue order after ``after_seq`` (keyset paging), filtered."""
        i = billing_invoices.c
        q = select(i.seq, i.document).where(i.seq > after_seq)
        if cfa is not None:
            q = q.where(or_(i.cfa_uai == cfa, i.cfa_siret == cfa))
        if opco is not None:
            q = q.where(i.opco == opco)
        if status is not None:
            q = q.where(i.status == status)
        if cfa_uai is not None:
            q = q.where(i.cfa_uai == cfa_uai)
        if issued_from is not None:
            q = q.where(i.issued_on >= issued_from)
        if issued_to is not None:
            q = q.where(i.issued_on <= issued_to)
        return [(r.seq, r.document) for r in await self.conn.execute(q.order_by(i.seq).limit(limit))]
