"""The board's readers (docs/quality.md, *Dashboard*, *Audit pack*, *Conseil de
perfectionnement*): the dashboard, a council's agenda over its period, the audit pack's period."""
from __future__ import annotations

from datetime import date

from kernel.errors import NotFound, Refused
from services.quality.application.authorization import cfa_of
from services.quality.application.dashboard import build, council_agenda
from services.quality.application.recording import record_body
from services.quality.application.unit_of_work import QualityUnitOfWork
from kernel.access import Principal


async def show_board(uow: QualityUnitOfWork, principal: Principal, today: date, start: date | None = None,
                     end: date | None = None) -> dict:
    """The whole board (``dashboard.public`` is what the JSON shows of it)."""
    cfa = cfa_of(principal)
    async with uow:
        return await build(uow, cfa, today, start, end)


async def council_minutes(uow: QualityUnitOfWork, principal: Principal, record_id: str,
                          today: date) -> tuple[dict, list[dict]]:
    """The council (with its CFA) and its R6231-4 agenda, filled with the evidence of its period."""
    cfa = cfa_of(principal)
    async with uow:
        row = await uow.records.get(cfa, "council", record_id)
        if row is None:
            raise NotFound("council")
        council = record_body(row)
        board = await build(uow, cfa, today, date.fromisoformat(council["period_from"]),
                            date.fromisoformat(council["period_to"]))
    return {**council, "cfa": cfa}, council_agenda(board)


async def audit_board(uow: QualityUnitOfWork, principal: Principal, start: date, end: date, today: date) -> dict:
    """The board of the audit pack's period."""
    cfa = cfa_of(principal)
    if end < start:
        raise Refused("invalid-period", "Invalid period", "'to' is before 'from'.")
    async with uow:
        return await build(uow, cfa, today, start, end)
