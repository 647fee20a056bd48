"""Keys and contracts the contracts unit tests start from; contracts are brought to a state
through the handlers themselves, on the fake unit of work."""
from __future__ import annotations

from typing import Any

from contract_events.signed import ContractTerms
from services.contracts.application.commands import COMMANDS, run_command
from services.contracts.application.sign import sign_contract
from services.contracts.domain.state import ContractState
from shared.auth import Principal
from tests.unit.contracts.fakes import FakeUnitOfWork

UAI, SIRET, OTHER_UAI = "0751234J", "98765432400019", "0931234L"
CFA, CFA_BY_SIRET, OTHER_CFA = Principal("k-cfa", "cfa", UAI), Principal("k-cfa-s", "cfa", SIRET), \
    Principal("k-other", "cfa", OTHER_UAI)
ATLAS, AKTO, OPS = Principal("k-atlas", "opco", "ATLAS"), Principal("k-akto", "opco", "AKTO"), \
    Principal("k-ops", "ops", "ops")

# Bodies that move a contract one step, and the principal who sends them (start 2024-09-28).
STEPS: dict[str, tuple[Principal, dict[str, Any]]] = {
    "transmission": (CFA, {"transmitted_on": "2024-09-30", "by": "cfa"}),
    "decision": (ATLAS, {"outcome": "accepted", "decided_on": "2024-10-10", "annual_funding_level": "7000.00"}),
    "deposit": (ATLAS, {"deposited_on": "2024-10-12", "deposit_number": "075202410000123"}),
    "amendments": (CFA, {"effective_on": "2025-06-01", "amendment_type": "33",
                         "changes": {"planned_end_date": "2026-01-31"}}),
    "rupture": (CFA, {"ruptured_on": "2025-01-15", "reason": "mutual_agreement", "continues_training": True}),
    "post-rupture-training-end": (CFA, {"ended_on": "2025-03-01", "reason": "left_cfa"}),
    "completion": (CFA, {"ended_on": "2025-10-03", "diploma_obtained": True}),
    "cancellation": (CFA, {"cancelled_on": "2024-09-25", "motive": "The apprentice withdrew."}),
}


def terms(**over: Any) -> ContractTerms:
    body: dict[str, Any] = {
        "apprentice": {"id": "app-1", "birth_date": "2005-03-14"},
        "employer": {"siret": "12345678200010", "idcc": "1486"},
        "cfa": {"uai": UAI, "siret": SIRET},
        "certification": {"rncp": "RNCP35185", "level": 5},
        "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2025-10-03",
        "contract_type": "11"}
    body.update(over)
    return ContractTerms.model_validate(body)


def body(command: str, **over: Any):
    return COMMANDS[command].body.model_validate({**STEPS[command][1], **over})


async def step(uow: FakeUnitOfWork, contract_id: str, command: str, **over: Any) -> ContractState:
    return await run_command(uow, STEPS[command][0], contract_id, COMMANDS[command], body(command, **over))


async def contract(uow: FakeUnitOfWork, *steps: str, **over: Any) -> str:
    """A contract signed by CFA (the terms changed by ``over``), then moved by ``steps``."""
    state = await sign_contract(uow, terms(**over), CFA)
    for command in steps:
        await step(uow, state.contract_id, command)
    return state.contract_id
