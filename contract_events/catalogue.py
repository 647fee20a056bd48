"""The catalogue of contract events: each type's data model, what it means, its current version,
and the status a contract takes after it (the one map every reader uses)."""
from __future__ import annotations

from pydantic import BaseModel

from contract_events.upcasting import current_version
from contract_events.cerfa import SignedV2
from contract_events.payloads import (Amendment, AmendmentV2, Cancellation, Completion, Deadline, Deposit, FundingAccepted,
                                      FundingRefused, InstructionExtended, PostRuptureTrainingEnded, Rehired,
                                      Rupture, Signed, Transmission)

# type -> (model of its data at the current version, description)
CATALOGUE: dict[str, tuple[type[BaseModel], str]] = {
    "contract.signed": (SignedV2, "the contract is concluded (the CERFA FA13)"),
    "contract.transmitted": (Transmission, "sent to the OPCO (private) or the DDETS (public)"),
    "contract.instruction_extended": (InstructionExtended, "the OPCO warned that instruction continues"),
    "contract.funding_accepted": (FundingAccepted, "explicit acceptance (cancels an implicit rejection)"),
    "contract.funding_refused": (FundingRefused, "explicit refusal, always motivated"),
    "contract.funding_implicitly_rejected": (Deadline, "private sector: 20 days after the complete file"),
    "contract.funding_implicitly_accepted": (Deadline, "public sector: 20 days of silence is acceptance"),
    "contract.deposited": (Deposit, "deposited with the ministry"),
    "contract.amended": (AmendmentV2, "avenant on an essential element"),
    "contract.ruptured": (Rupture, "early termination"),
    "contract.rehired": (Rehired, "the apprentice signed a successor contract"),
    "contract.post_rupture_training_ended": (PostRuptureTrainingEnded, "left the CFA after a rupture"),
    "contract.completed": (Completion, "normal end"),
    "contract.cancelled": (Cancellation, "annulled before execution"),
    "contract.transmission_overdue": (Deadline, "5 working days after the start, not transmitted"),
}
VERSIONS: dict[str, int] = {event_type: current_version(event_type) for event_type in CATALOGUE}
# Earlier versions still in the log (read through contract_events.upcasting): (type, version) -> model
EARLIER: dict[tuple[str, int], type[BaseModel]] = {("contract.signed", 1): Signed, ("contract.amended", 1): Amendment}


def model_of(event_type: str, version: int) -> type[BaseModel] | None:
    """The model of ``event_type``'s data as written at ``version``; None for no such version."""
    if event_type in CATALOGUE and version == VERSIONS[event_type]:
        return CATALOGUE[event_type][0]
    return EARLIER.get((event_type, version))

# The status a reader shows after each event (events not named leave it as it was). The
# contracts service's own state machine (services/contracts/domain/state.py) also guards the
# order of decisions; readers of the topic take the events as they come.
STATUS_AFTER: dict[str, str] = {
    "contract.signed": "signed", "contract.transmitted": "transmitted", "contract.funding_accepted": "accepted",
    "contract.funding_refused": "refused", "contract.funding_implicitly_rejected": "refused",
    "contract.funding_implicitly_accepted": "accepted", "contract.deposited": "deposited",
    "contract.ruptured": "ruptured", "contract.completed": "completed", "contract.cancelled": "cancelled",
}


def status_after(event_types, start: str = "signed") -> str:
    status = start
    for event_type in event_types:
        status = STATUS_AFTER.get(event_type, status)
    return status
