"""The projections ops can rebuild: their tables, their keys, and how to feed them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import text

from shared.clock import SystemClock
from shared.messaging.topics import CONTRACT_EVENTS


@dataclass(frozen=True)
class ProjectionSpec:
    name: str
    schema: str                              # the live schema
    tables: dict[str, list[str]]             # derived table -> primary key columns
    volatile: dict[str, list[str]] = field(default_factory=dict)  # columns that differ by construction
    copied: list[str] = field(default_factory=list)               # reference tables the projection reads
    topic: str = CONTRACT_EVENTS
    feed_store: str = "contracts"            # the owning service's store
    consumer: str = ""                       # the live consumer group
    make: Callable[[], object] | None = None
    # the live projection's stored events as CloudEvents (what a swap catches up with): SQL columns
    # of its contract_events table, aliased id, type, subject, data, time, partitionkey
    late_columns: str = ("l.event_id AS id, l.type, l.contract_id AS subject, l.data, l.recorded_at AS time, "
                         "l.apprentice_id AS partitionkey, l.sequence")
    # tables of ``tables`` that are not fed by the topic but folded from the service's own events
    # (its money loop): rebuilt from its store (``ledger_store``, the source of truth) whatever the
    # source of the rest, by ``make_ledger()``'s ``apply``
    ledger: tuple[str, ...] = ()
    ledger_store: str = ""
    make_ledger: Callable[[], object] | None = None
    # a rebuild in two phases (services/financing/adapters/bulk_rebuild.py): ``store`` each batch,
    # then every path computed once; None: each batch through ``make()``'s ``apply``
    make_bulk: Callable[[], object] | None = None
    # the tables a bulk rebuild loads, by phase (stored, computed): created without their indexes
    # and primary keys, each group's built once its phase has loaded it (operations/rebuild.py)
    loaded: tuple[tuple[str, ...], ...] = ()

    def projection(self):
        return self.make()

    @property
    def fed(self) -> list[str]:
        """The tables the projection's own ``apply`` writes."""
        return [t for t in self.tables if t not in self.ledger]


def _financing():
    from services.financing.adapters.financing_projection import FinancingProjection
    return FinancingProjection(SystemClock())


def _financing_bulk():
    from services.financing.adapters.bulk_rebuild import BulkFinancing
    return BulkFinancing(SystemClock().today())


class BillingLedger:
    """The money loop's rows (docs/billing.md) folded again from the financing store's money events,
    with the fold the commands use (``refold``: ``fold_invoice``, ``fold_payment``,
    ``fold_regularisations``, written by ``SqlBilling.save``), so a rebuilt row is byte for byte the
    row a command wrote. Applying events refolds their whole streams as the store holds them now:
    applying an event twice, or a stream's events late, gives the same rows (idempotent)."""

    async def apply(self, conn, events, translate: dict[str, str]) -> None:
        """``events`` (with ``stream_id``): refold their streams, read from the live store, into
        the tables ``translate`` names (``schema_translate_map``), on ``conn``'s transaction. (A
        connection's execution options change in place: reads and writes take turns on it.)"""
        from services.financing.adapters.billing_store import SqlBilling
        from services.financing.adapters.financing_tables import billing_lines, document_numbers
        from services.financing.domain.billing import (fold_invoice, fold_payment, fold_regularisations,
                                                       invoice_stream)
        from shared.db import table_name

        async def live():
            await conn.execution_options(schema_translate_map=None)

        async def rebuilt():
            await conn.execution_options(schema_translate_map=translate)

        billing = SqlBilling(conn)
        invoices, payments, regularisations = {}, {}, {}
        pending = {e.stream_id for e in events}
        done: set[str] = set()
        while pending:
            await live()
            for stream, evs in sorted((await billing.streams(pending)).items()):
                pairs = [(e.type, e.data) for e in evs]
                if stream.startswith("invoice-"):
                    inv = fold_invoice(pairs)
                    if inv is not None:
                        invoices[inv.invoice_id] = (inv, evs[0].position)
                elif stream.startswith("payment-"):
                    p = fold_payment(pairs)
                    if p is not None:
                        payments[p.payment_id] = p
                else:
                    for r in fold_regularisations(pairs):
                        regularisations[r.regularisation_id] = r
            done |= pending
            # An invoice folded earlier in the rebuild from a shorter log may still hold, as active,
            # an advance (a fee, a regularisation) an invoice of this batch holds now (cancelled or
            # rejected meanwhile, and its event not read yet: the read is in the order transactions
            # began, not committed): fold it again too, so the unique indexes hold at every step.
            await rebuilt()
            pending = {invoice_stream(i) for i in await self._holding(conn, table_name(conn, billing_lines),
                                                                     [inv for inv, _ in invoices.values()])} - done
        await billing.save(list(invoices.values()), list(payments.values()), list(regularisations.values()))
        last: dict[tuple[str, int], int] = {}
        for inv, _ in invoices.values():
            for number in (inv.number, (inv.credit_note or {}).get("number")):
                parsed = parse_document_number(number)
                if parsed is not None:
                    key = (parsed[0], parsed[1])
                    last[key] = max(last.get(key, 0), parsed[2])
        if last:
            rows = await conn.execute(text(f"SELECT cfa_uai, year, last FROM {table_name(conn, document_numbers)}"))
            known = {(r.cfa_uai, r.year): r.last for r in rows}
            changed = {k: n for k, n in last.items() if n > known.get(k, 0)}
            if changed:
                await billing.set_numbers(changed)
        await live()

    @staticmethod
    async def _holding(target, lines_table: str, invoices) -> set[str]:
        """Other invoices whose rows hold, as active, a line these invoices hold active now."""
        active = [(inv.invoice_id, l) for inv in invoices if inv.active for l in inv.lines]
        if not active:
            return set()
        advances = [l for _, l in active if l.kind == "advance"]
        rows = await target.execute(text(
            f"SELECT DISTINCT l.invoice_id FROM {lines_table} l WHERE l.active "
            "AND NOT l.invoice_id = ANY(CAST(:ids AS text[])) AND ("
            " (l.kind = 'advance' AND (l.contract_id, l.funding_year, l.advance) IN ("
            "   SELECT * FROM unnest(CAST(:c AS text[]), CAST(:y AS int[]), CAST(:a AS int[]))))"
            " OR l.claim_id = ANY(CAST(:claims AS text[]))"
            " OR l.regularisation_id = ANY(CAST(:regs AS text[])))"),
            {"ids": [inv.invoice_id for inv in invoices], "c": [l.contract_id for l in advances],
             "y": [l.funding_year for l in advances], "a": [l.advance for l in advances],
             "claims": [l.claim_id for _, l in active if l.claim_id],
             "regs": [l.regularisation_id for _, l in active if l.regularisation_id]})
        return {r[0] for r in rows}


_NUMBER = re.compile(r"[A-Z]+-(?P<cfa>.+)-(?P<year>\d{4})-(?P<n>\d+)")


def parse_document_number(number: str | None) -> tuple[str, int, int] | None:
    """(CFA UAI, year, number) of ``F-0751234J-2025-00001`` or ``A-...`` (billing.document_number:
    invoices and credit notes share one sequence per CFA and year)."""
    m = _NUMBER.fullmatch(number or "")
    return (m["cfa"], int(m["year"]), int(m["n"])) if m else None


FINANCING = ProjectionSpec(
    name="financing", schema="financing",
    tables={"contracts": ["contract_id"], "contract_events": ["event_id"],
            "lines": ["contract_id", "funding_year"], "advances": ["contract_id", "funding_year", "advance"],
            # the money loop's rows, in the order its commands lock them (swap)
            "document_numbers": ["cfa_uai", "year"], "billing_payments": ["payment_id"],
            "billing_invoices": ["invoice_id"], "billing_lines": ["invoice_id", "line_no"],
            "billing_regularisations": ["regularisation_id"]},
    volatile={"contracts": ["updated_at"], "contract_events": ["arrival"]},
    copied=["npec_rows", "cpne_idcc"], consumer="financing.contracts", make=_financing, make_bulk=_financing_bulk,
    loaded=(("contract_events",), ("contracts", "lines", "advances")),
    ledger=("document_numbers", "billing_payments", "billing_invoices", "billing_lines", "billing_regularisations"),
    ledger_store="financing", make_ledger=BillingLedger)

def _quality():
    from services.quality.adapters.contract_projection import QualityProjection
    return QualityProjection()


QUALITY = ProjectionSpec(
    name="quality", schema="quality", tables={"contract_events": ["event_id"]},
    volatile={"contract_events": ["arrival"]}, consumer="quality.contracts", make=_quality,
    late_columns="l.event_id AS id, l.type, l.contract_id AS subject, l.data, l.recorded_at AS time, "
                 "NULL AS partitionkey, NULL AS sequence")

SPECS = {"financing": FINANCING, "quality": QUALITY}
