"""A contract's state, folded from its stream (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

TERMINAL = {"completed", "cancelled"}


@dataclass
class ContractState:
    contract_id: str
    version: int = 0
    status: str = "new"
    terms: dict[str, Any] = field(default_factory=dict)
    transmitted_on: str | None = None
    file_complete_on: str | None = None
    funding: str | None = None  # accepted, refused, implicitly_rejected, implicitly_accepted
    annual_funding_level: str | None = None
    deposit_number: str | None = None
    ruptured_on: str | None = None
    continues_training: bool = False
    successor_contract_id: str | None = None
    ended_on: str | None = None

    @property
    def apprentice_id(self) -> str:
        return self.terms["apprentice"]["id"]

    @property
    def cfa(self) -> dict[str, Any]:
        return self.terms["cfa"]

    @property
    def opco(self) -> str | None:
        return self.terms.get("opco")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def apply(state: ContractState, event_type: str, data: dict[str, Any]) -> None:
    s = state
    s.version += 1
    match event_type:
        case "contract.signed":
            s.status, s.terms = "signed", {k: v for k, v in data.items() if k != "contract_id"}
        case "contract.transmitted":
            s.status, s.transmitted_on = "transmitted", data.get("transmitted_on")
            s.file_complete_on = data.get("file_complete_on") or data.get("transmitted_on")
        case "contract.funding_accepted":
            s.status, s.funding, s.annual_funding_level = "accepted", "accepted", data.get("annual_funding_level")
        case "contract.funding_refused":
            s.status, s.funding = "refused", "refused"
        case "contract.funding_implicitly_rejected":
            s.status, s.funding = "refused", "implicitly_rejected"
        case "contract.funding_implicitly_accepted":
            s.status, s.funding = "accepted", "implicitly_accepted"
        case "contract.deposited":
            s.status, s.deposit_number = "deposited", data.get("deposit_number")
        case "contract.amended":
            s.terms = {**s.terms, **data.get("changes", {})}
        case "contract.ruptured":
            s.status, s.ruptured_on = "ruptured", data.get("ruptured_on")
            s.continues_training = bool(data.get("continues_training"))
        case "contract.rehired":
            s.successor_contract_id = data.get("new_contract_id")
        case "contract.post_rupture_training_ended":
            s.continues_training = False
        case "contract.completed":
            s.status, s.ended_on = "completed", data.get("ended_on")
        case "contract.cancelled":
            s.status, s.ended_on = "cancelled", data.get("cancelled_on")
        case _:
            pass  # informational events (instruction_extended, transmission_overdue)


def fold(contract_id: str, events: Iterable[tuple[str, dict[str, Any]]]) -> ContractState:
    state = ContractState(contract_id)
    for event_type, data in events:
        apply(state, event_type, data)
    return state
