"""What the money handlers share: which accounts (CFA x OPCO) a caller may see, an account's folded
ledger, an invoice loaded for a command (tenancy, If-Match), and recording events with the folded
states they produce in one unit of work (docs/billing.md)."""
from __future__ import annotations

from datetime import datetime

from kernel.access import Principal, can_see
from kernel.errors import Conflict, NotFound, check_version
from services.financing.application.unit_of_work import AlreadyBilled, FinancingUnitOfWork, LedgerEvent, StreamChanged
from services.financing.domain.billing import (Invoice, Ledger, fold_invoice, fold_ledger, fold_payment,
                                               fold_regularisations, invoice_stream, ledger_key)


def scope(principal: Principal, cfa: str | None = None, opco: str | None = None) -> tuple[str | None, str | None]:
    """The (CFA, OPCO) filter a caller's accounts are read with: a CFA key is its own CFA, an OPCO
    key its own OPCO, ops any (narrowed by the query's filters)."""
    if principal.role == "cfa":
        return principal.org, opco
    if principal.role == "opco":
        return cfa, principal.org
    return cfa, opco


async def ledger_of(uow: FinancingUnitOfWork, accounts: list[tuple[str, str]],
                    as_of: datetime | None = None) -> Ledger:
    return fold_ledger(await uow.billing.ledger_events([ledger_key(c, o) for c, o in accounts], as_of))


def sees_invoice(principal: Principal, inv: Invoice) -> bool:
    return can_see(principal, inv.cfa_uai, inv.cfa_siret, inv.opco)


async def load_invoice(uow: FinancingUnitOfWork, principal: Principal, invoice_id: str,
                       if_match: int | None = None, as_of: datetime | None = None) -> tuple[Invoice, int]:
    """The invoice folded from its stream (as it was at ``as_of``) and its stream version; another
    tenant's invoice is not found; an If-Match naming another version is refused (412)."""
    events = await uow.billing.stream(invoice_stream(invoice_id), as_of)
    inv = fold_invoice((e.type, e.data) for e in events)
    if inv is None or not sees_invoice(principal, inv):
        raise NotFound("invoice")
    check_version("invoice", if_match, inv.version)
    return inv, len(events)


async def record(uow: FinancingUnitOfWork, principal: Principal, account: tuple[str, str],
                 appends: list[tuple[str, int, list[tuple[str, dict]]]]) -> list[LedgerEvent]:
    """Append money events (each stream at its expected version) and keep the folded states of
    every stream written: one unit of work, so the rows never disagree with the log."""
    try:
        recorded = await uow.billing.append(appends, ledger_key(*account), principal.key_id)
    except StreamChanged:
        raise Conflict("concurrent-update", "Concurrent change",
                       "Another request changed this invoice or payment meanwhile; read it again and retry.") from None
    await refold(uow, {stream for stream, _, _ in appends})
    return recorded


async def refold(uow: FinancingUnitOfWork, streams: set[str]) -> None:
    """Fold these streams again from the log and keep their states as rows."""
    invoices, payments, regularisations = [], [], []
    for stream, events in sorted((await uow.billing.streams(streams)).items()):
        pairs = [(e.type, e.data) for e in events]
        if stream.startswith("invoice-"):
            invoices.append((fold_invoice(pairs), events[0].position))
        elif stream.startswith("payment-"):
            payments.append(fold_payment(pairs))
        else:
            regularisations += fold_regularisations(pairs)
    try:
        await uow.billing.save(invoices, payments, regularisations)
    except AlreadyBilled as exc:
        if exc.what == "payment":
            raise Conflict("payment-duplicate", "Payment recorded already",
                           "A payment with this bank reference is recorded already (a concurrent request won).") from None
        raise Conflict("advance-already-invoiced", "Already invoiced",
                       "A line of this invoice is on another invoice already (a concurrent request won).",
                       errors=[{"field": "lines", "code": "advance_already_invoiced",
                                "message": "On another active invoice."}]) from None
