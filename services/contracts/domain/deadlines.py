"""The legal deadlines that raise events by themselves (pure): which run for a contract in a given
state, and the event each raises once past its last day (docs/domain.md, "Deadlines"; the
scheduler is application/scheduler.py)."""
from __future__ import annotations

from datetime import date, timedelta

from services.contracts.domain.calendar import add_working_days
from services.contracts.domain.legal import DECISION_DAYS, TRANSMISSION_WORKING_DAYS
from services.contracts.domain.state import ContractState, Event


def transmission_due(s: ContractState) -> date:
    return add_working_days(date.fromisoformat(s.start_date), TRANSMISSION_WORKING_DAYS)


def decision_due(s: ContractState) -> date:
    return date.fromisoformat(s.file_complete_on) + timedelta(days=DECISION_DAYS)


def deadlines(s: ContractState) -> dict[str, date | None]:
    """The deadlines a contract in this state has running (None: none of that kind)."""
    live = s.status not in ("ruptured", "completed", "cancelled")
    transmission = transmission_due(s) if live and s.needs_transmission and not s.transmission_overdue else None
    waiting = live and s.file_complete_on and not s.needs_transmission and s.funding is None \
        and not s.instruction_extended
    return {"transmission": transmission, "decision": decision_due(s) if waiting else None}


def fire(s: ContractState, kind: str, today: date) -> list[Event]:
    """The event a due deadline raises, if it still applies on ``today`` (after its last day)."""
    due = deadlines(s).get(kind)
    if due is None or today <= due:
        return []
    if kind == "transmission":
        return [("contract.transmission_overdue", {"contract_id": s.contract_id, "deadline_on": due.isoformat()})]
    outcome = "contract.funding_implicitly_accepted" if s.public_sector else "contract.funding_implicitly_rejected"
    return [(outcome, {"contract_id": s.contract_id, "deadline_on": due.isoformat()})]

