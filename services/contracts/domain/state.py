"""A contract's state, folded from its stream (pure). Events come in at their current version
(contract_events.upcasting reads older ones): ``terms`` is the CERFA (contract_events.cerfa) as
signed, with every amendment's merge patch applied."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from contract_events.upcasting import merge_patch

Event = tuple[str, dict[str, Any]]   # (type, data): what a stream holds and a command emits


@dataclass
class ContractState:
    contract_id: str
    version: int = 0
    status: str = "new"   # signed, transmitted, accepted, refused, deposited, ruptured, completed, cancelled
    terms: dict[str, Any] = field(default_factory=dict)   # the CERFA, as JSON
    needs_transmission: bool = False
    transmitted_on: str | None = None
    file_complete_on: str | None = None
    instruction_extended: bool = False
    funding: str | None = None  # accepted, refused, implicitly_rejected, implicitly_accepted
    annual_funding_level: str | None = None
    needs_deposit: bool = False
    deposit_number: str | None = None
    ruptured_on: str | None = None
    rupture_reason: str | None = None
    continues_training: bool = False
    post_rupture_training_ended_on: str | None = None
    successor_contract_id: str | None = None
    ended_on: str | None = None
    transmission_overdue: bool = False
    amendments: int = 0

    @property
    def apprentice_id(self) -> str:
        return self.terms["apprentice"]["id"]

    @property
    def opco(self) -> str | None:
        return self.terms.get("opco")

    @property
    def cfa(self) -> dict[str, Any]:
        return self.terms["training"]["cfa"]

    @property
    def cfa_uai(self) -> str:
        return self.cfa["uai"]

    @property
    def cfa_siret(self) -> str | None:
        return self.cfa.get("siret")

    @property
    def employer_siret(self) -> str:
        return self.terms["employer"]["siret"]

    @property
    def idcc(self) -> str:
        return self.terms["employer"]["idcc"]

    @property
    def signed_on(self) -> str:
        return self.terms["contract"]["signed_on"]

    @property
    def start_date(self) -> str:
        return self.terms["contract"]["start_date"]

    @property
    def planned_end_date(self) -> str:
        return self.terms["contract"]["planned_end_date"]

    @property
    def master_ids(self) -> list[str]:
        return [m["id"] for m in self.terms.get("masters") or [] if m.get("id")]

    @property
    def repeating(self) -> bool:
        """Extended after a failed exam (R6223-6 counts such an apprentice apart)."""
        return (self.terms["contract"].get("duration_adjustment") or {}).get("kind") == "extension"

    @property
    def public_sector(self) -> bool:
        return bool(self.terms.get("employer", {}).get("public_sector"))

    @property
    def decided(self) -> bool:
        return self.funding in ("accepted", "refused", "implicitly_accepted")

    @property
    def ended(self) -> bool:
        return self.status in ("ruptured", "completed", "cancelled")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ContractState:
        """The inverse of ``as_dict``: a state as the read model keeps it (keys this version no
        longer knows are left out)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in state.items() if k in known})


def _funding_status(s: ContractState) -> str:
    return {"accepted": "accepted", "implicitly_accepted": "accepted", "refused": "refused",
            "implicitly_rejected": "refused"}.get(s.funding or "", "transmitted")


def apply(s: ContractState, event_type: str, data: dict[str, Any]) -> None:
    s.version += 1
    match event_type:
        case "contract.signed":
            s.status, s.needs_transmission = "signed", True
            s.terms = {k: v for k, v in data.items() if k != "contract_id"}
        case "contract.transmitted":
            s.needs_transmission, s.transmitted_on = False, data["transmitted_on"]
            s.file_complete_on = data.get("file_complete_on") or data["transmitted_on"]
            s.instruction_extended = False
            s.needs_deposit = True
            if s.status == "signed":
                s.status = "transmitted"
        case "contract.instruction_extended":
            s.instruction_extended = True
        case "contract.funding_accepted":
            s.funding, s.annual_funding_level = "accepted", data.get("annual_funding_level")
            s.status = "accepted" if s.needs_deposit and s.status in ("transmitted", "refused") else s.status
        case "contract.funding_refused":
            s.funding, s.status = "refused", "refused"
        case "contract.funding_implicitly_rejected":
            s.funding, s.status = "implicitly_rejected", "refused"
        case "contract.funding_implicitly_accepted":
            s.funding = "implicitly_accepted"
            s.status = "accepted" if s.status == "transmitted" else s.status
        case "contract.deposited":
            s.status, s.deposit_number, s.needs_deposit = "deposited", data.get("deposit_number"), False
        case "contract.amended":
            s.terms = merge_patch(s.terms, data.get("changes") or {})
            s.amendments += 1
            s.needs_transmission = True
        case "contract.ruptured":
            s.status, s.ruptured_on, s.rupture_reason = "ruptured", data["ruptured_on"], data.get("reason")
            s.continues_training = bool(data.get("continues_training"))
        case "contract.rehired":
            s.successor_contract_id = data.get("new_contract_id")
        case "contract.post_rupture_training_ended":
            s.continues_training, s.post_rupture_training_ended_on = False, data.get("ended_on")
        case "contract.completed":
            s.status, s.ended_on = "completed", data.get("ended_on")
        case "contract.cancelled":
            s.status, s.ended_on = "cancelled", data.get("cancelled_on")
        case "contract.transmission_overdue":
            s.transmission_overdue = True


def fold(contract_id: str, events: Iterable[tuple[str, dict[str, Any]]]) -> ContractState:
    state = ContractState(contract_id)
    for event_type, data in events:
        apply(state, event_type, data)
    return state
