"""Regularisation (docs/billing.md): when a rupture, an amendment or a new NPEC shrinks a funding
year already invoiced, what an advance was invoiced above what is now due on it is proposed as a
regularisation (``regularisation.proposed``, with the contract events that caused it); the CFA's
next invoice to the same OPCO nets it (``regularisation.settled``).

Proposed by the financing service's regularisation worker after the projection moves, and by
every invoice issued (so it nets what is known); proposing twice proposes nothing more."""
from __future__ import annotations

import uuid
from datetime import date

from kernel.access import Principal
from services.financing.application.accounts import ledger_of, record
from services.financing.application.unit_of_work import FinancingUnitOfWork
from services.financing.domain.billing import ZERO, Ledger, money, overshoot, regularisation_stream

SYSTEM = Principal("financing.regularisation", "ops", "parcours")


async def propose(uow: FinancingUnitOfWork, today: date, accounts: list[tuple[str, str]] | None = None,
                  ledger: Ledger | None = None) -> int:
    """Record a regularisation for every advance invoiced above what is due on it now; returns how
    many were proposed. Runs in the caller's unit of work (commits nothing itself); ``ledger``:
    these accounts already folded."""
    found = await uow.billing.overshot(accounts)   # candidates, by one query: most passes stop here
    if not found:
        return 0
    ledger = ledger if ledger is not None else await ledger_of(uow, sorted({(c, o) for _, c, o in found}))
    billed = ledger.billed()
    now = await uow.billing.advances_at([key for key, _, _ in found])
    regularised = ledger.regularised()
    over = []
    for key, _, _ in found:
        if key not in billed:     # the rows and the log are written together: only a concurrent change
            continue
        inv, line, _ = billed[key]
        advance = now.get(key)
        due_now = advance.amount if advance is not None else ZERO
        amount = overshoot(line.amount, due_now, regularised.get(key, ZERO))
        if amount > 0:
            over.append((key, inv, line, due_now, amount))
    if not over:
        return 0
    for key, inv, line, due_now, amount in over:
        issued_at = ledger.issued[inv.invoice_id].recorded_at
        causes = await uow.billing.changes_since([key[0]], issued_at)
        named = ", ".join(f"{c['type']} ({c['on']})" if c["on"] else c["type"] for c in causes) or "a new computation"
        stream = regularisation_stream(*key)
        reason = (f"advance {key[2]} of funding year {key[1]} invoiced {money(line.amount)} on {inv.number}, "
                  f"{money(due_now)} due now after {named}")
        await record(uow, SYSTEM, (inv.cfa_uai, inv.opco), [(stream, ledger.versions.get(stream, 0), [(
            "regularisation.proposed", {
                "regularisation_id": str(uuid.uuid4()), "contract_id": key[0], "funding_year": key[1],
                "advance": key[2], "cfa_uai": inv.cfa_uai, "opco": inv.opco, "amount": money(amount),
                "invoiced": money(line.amount), "due_now": money(due_now), "invoice_id": inv.invoice_id,
                "reason": reason, "caused_by": causes, "proposed_on": today.isoformat()})])])
    return len(over)


async def propose_all(uow: FinancingUnitOfWork, today: date) -> int:
    """The worker's tick: every account, in its own unit of work."""
    async with uow:
        n = await propose(uow, today)
        await uow.commit()
    return n
