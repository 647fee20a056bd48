"""Contract commands: sign, and every lifecycle command on one contract. Each POST is retry-safe
with Idempotency-Key (the key claimed in the command's transaction); the lifecycle commands take
If-Match.

(No ``from __future__ import annotations`` here: the command endpoints are built in a loop and
FastAPI must see their body types as real classes.)"""
from typing import Annotated, Any, Awaitable, Callable, Union

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Discriminator, Tag

from contract_events.cerfa import Cerfa
from contract_events.signed import ContractTerms
from services.contracts.api import examples
from services.contracts.api.dependencies import UnitOfWork, wake_relay
from shared.api.if_match import IfMatch, parse_if_match
from services.contracts.application.commands import COMMANDS, Command, run_command
from services.contracts.application.sign import sign_contract
from services.contracts.application.unit_of_work import ContractsUnitOfWork
from services.contracts.domain.state import ContractState
from shared.api.idempotency import IdempotencyKey, Outcome, respond, run_once
from shared.auth import CurrentPrincipal, Principal

router = APIRouter(tags=["contracts"])
STATE_RESPONSE = {"content": {"application/json": {"example": examples.STATE}}}


def _state_body(state: ContractState) -> dict[str, Any]:
    return {"contract_id": state.contract_id, "status": state.status, "version": state.version,
            "opco": state.opco}


async def _idempotent(request: Request, uow: ContractsUnitOfWork, principal: Principal, idempotency_key: str | None,
                      payload: BaseModel, action: Callable[[], Awaitable[Outcome]]) -> Response:
    outcome = await run_once(request, uow, principal, idempotency_key, payload, action)
    if not outcome.replayed:
        wake_relay(request)  # committed: publish now, not at the next poll
    return respond(outcome)


def _shape(body: Any) -> str:
    """A CERFA has the form's sections; anything else is read as the summary of version 1."""
    return "<cerfa>" if isinstance(body, dict) and ("contract" in body or "training" in body) else "<summary>"


SignBody = Annotated[Union[Annotated[Cerfa, Tag("<cerfa>")], Annotated[ContractTerms, Tag("<summary>")]],
                     Discriminator(_shape)]
SIGN_EXAMPLES = {
    "cerfa": {"summary": "The CERFA FA13 (docs/cerfa.md)", "value": examples.SIGN_CERFA},
    "summary": {"summary": "Deprecated: the summary of version 1, signed as an incomplete CERFA",
                "value": examples.SIGN},
}


@router.post("/v1/contracts", status_code=201, summary="Sign a contract: the CERFA FA13 (CFA key)",
             description="The body is the CERFA (sections employer, apprentice, masters, contract, training; "
                         "docs/cerfa.md). Every empty mandatory box and every broken rule is listed at once "
                         "(422). The summary body of version 1 is still accepted, deprecated: the contract is "
                         "then an incomplete CERFA, and the checks that need the whole form do not run.",
             responses={201: {"content": {"application/json": {"example": {**examples.STATE, "status": "signed",
                                                                             "version": 1, "opco": "ATLAS"}}}}})
async def sign(terms: Annotated[SignBody, Body(openapi_examples=SIGN_EXAMPLES)],
               request: Request, principal: CurrentPrincipal, uow: UnitOfWork, idempotency_key: IdempotencyKey = None):
    async def action() -> Outcome:
        state = await sign_contract(uow, terms, principal)
        return Outcome(201, _state_body(state), {"Location": f"/v1/contracts/{state.contract_id}",
                                                 "ETag": f'"{state.version}"'})
    return await _idempotent(request, uow, principal, idempotency_key, terms, action)


def _command(path: str, command: Command, summary: str, example: dict) -> None:
    async def endpoint(contract_id: str,
                       body: Annotated[command.body, Body(openapi_examples={"example": {"value": example}})],
                       request: Request, principal: CurrentPrincipal, uow: UnitOfWork, if_match: IfMatch = None,
                       idempotency_key: IdempotencyKey = None):
        expected = parse_if_match(if_match)

        async def action() -> Outcome:
            state = await run_command(uow, principal, contract_id, command, body, if_match=expected)
            return Outcome(200, _state_body(state), {"ETag": f'"{state.version}"'})
        return await _idempotent(request, uow, principal, idempotency_key, body, action)

    endpoint.__name__ = path.replace("-", "_")
    router.post(f"/v1/contracts/{{contract_id}}/{path}", summary=summary,
                responses={200: STATE_RESPONSE})(endpoint)


DOCUMENTED = {   # path: (summary, request example)
    "transmission": ("Transmit to the OPCO or DDETS (CFA key)", examples.TRANSMISSION),
    "decision": ("Record the OPCO's decision (OPCO key)", examples.DECISION),
    "deposit": ("Record the deposit (OPCO key)", examples.DEPOSIT),
    "amendments": ("Record an avenant (CFA key)", examples.AMENDMENT),
    "rupture": ("Record a rupture (CFA key)", examples.RUPTURE),
    "post-rupture-training-end": ("The apprentice left post-rupture training (CFA key)", examples.POST_RUPTURE_END),
    "completion": ("Record the contract's end (CFA key)", examples.COMPLETION),
    "cancellation": ("Cancel before execution (CFA key)", examples.CANCELLATION),
}
for _path, _cmd in COMMANDS.items():
    _command(_path, _cmd, *DOCUMENTED[_path])
