"""Contracts resource: sign, every lifecycle command, read, list, its stream.

(No ``from __future__ import annotations`` here: the command endpoints are built in a loop and
FastAPI must see their body types as real classes.)"""
import base64
from urllib.parse import urlencode
from datetime import date
from typing import Annotated, Any, Awaitable, Callable

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import and_, or_, select, tuple_

from services.contracts.adapters.tables import SCHEMA, contracts
from services.contracts.adapters.unit_of_work import ContractsUnitOfWork, read_view, store
from services.contracts.api import examples
from services.contracts.application.commands import parse_if_match, run_command
from services.contracts.application.sign import references, sign_contract
from contract_events import payloads as ev
from services.contracts.domain import lifecycle
from services.contracts.domain.commands import Decision
from contract_events.signed import ContractTerms
from services.contracts.domain.rules import Context
from services.contracts.domain.state import ContractState
from shared.api.idempotency import Outcome, fingerprint, once, respond
from shared.api.problems import Problem, not_found
from shared.auth import CurrentPrincipal, Principal
from shared.envelope import to_cloudevent
from shared.tenancy import can_see
from shared.types import IsoDate

SOURCE = "/parcours/contracts"
router = APIRouter(tags=["contracts"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the ETag read, e.g. "3"')]
STATE_RESPONSE = {"content": {"application/json": {"example": examples.STATE}}}


def _state_body(state: ContractState) -> dict[str, Any]:
    return {"contract_id": state.contract_id, "status": state.status, "version": state.version,
            "opco": state.opco}


async def _idempotent(request: Request, principal: Principal, idem_key: str | None, payload: BaseModel,
                      action: Callable[[ContractsUnitOfWork], Awaitable[Outcome]]) -> Response:
    digest = fingerprint(request.method, request.url.path, payload.model_dump(mode="json"))
    async with request.app.state.engine.begin() as conn:
        outcome = await once(conn, SCHEMA, principal.key_id, idem_key, digest,
                             lambda: action(ContractsUnitOfWork(conn)))
    relay = getattr(request.app.state, "relay", None)
    if relay is not None and not outcome.replayed:
        relay.wake()  # committed: publish now, not at the next poll
    return respond(outcome)


@router.post("/v1/contracts", status_code=201, summary="Sign a contract (CFA key)",
             responses={201: {"content": {"application/json": {"example": {**examples.STATE, "status": "signed",
                                                                             "version": 1, "opco": "ATLAS"}}}}})
async def sign(terms: Annotated[ContractTerms, Body(openapi_examples={"contract": {"value": examples.SIGN}})],
               request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None):
    async def action(uow):
        state = await sign_contract(uow, terms, principal)
        return Outcome(201, _state_body(state), {"Location": f"/v1/contracts/{state.contract_id}",
                                                 "ETag": f'"{state.version}"'})
    return await _idempotent(request, principal, idempotency_key, terms, action)


def _command(path: str, model: type[BaseModel], example: dict, roles: tuple[str, ...], summary: str,
             decide: Callable[[ContractState, Any], list]):
    async def endpoint(contract_id: str,
                       body: Annotated[model, Body(openapi_examples={"example": {"value": example}})],
                       request: Request, principal: CurrentPrincipal,
                       if_match: IfMatch = None, idempotency_key: IdempotencyKey = None):
        expected = parse_if_match(if_match)

        async def action(uow):
            state = await run_command(uow, principal, contract_id, lambda s: decide(s, body),
                                      roles=roles, if_match=expected)
            return Outcome(200, _state_body(state), {"ETag": f'"{state.version}"'})
        return await _idempotent(request, principal, idempotency_key, body, action)

    endpoint.__name__ = path.replace("-", "_")
    router.post(f"/v1/contracts/{{contract_id}}/{path}", summary=summary,
                responses={200: STATE_RESPONSE})(endpoint)


def _amend(state: ContractState, body: ev.Amendment) -> list:
    return lifecycle.amend(state, body, references(), Context())


CFA, OPCO = ("cfa",), ("opco",)
_command("transmission", ev.Transmission, examples.TRANSMISSION, CFA, "Transmit to the OPCO or DDETS (CFA key)",
         lifecycle.transmit)
_command("decision", Decision, examples.DECISION, OPCO, "Record the OPCO's decision (OPCO key)", lifecycle.decide)
_command("deposit", ev.Deposit, examples.DEPOSIT, OPCO, "Record the deposit (OPCO key)", lifecycle.deposit)
_command("amendments", ev.Amendment, examples.AMENDMENT, CFA, "Record an avenant (CFA key)", _amend)
_command("rupture", ev.Rupture, examples.RUPTURE, CFA, "Record a rupture (CFA key)", lifecycle.rupture)
_command("post-rupture-training-end", ev.PostRuptureTrainingEnded, examples.POST_RUPTURE_END, CFA,
         "The apprentice left post-rupture training (CFA key)", lifecycle.end_post_rupture_training)
_command("completion", ev.Completion, examples.COMPLETION, CFA, "Record the contract's end (CFA key)",
         lifecycle.complete)
_command("cancellation", ev.Cancellation, examples.CANCELLATION, CFA, "Cancel before execution (CFA key)",
         lifecycle.cancel)


def contract_body(row) -> dict:
    return {"contract_id": row.contract_id, "status": row.status, "version": row.version,
            "apprentice_id": row.apprentice_id, "cfa_uai": row.cfa_uai, "opco": row.opco,
            "signed_on": row.signed_on.isoformat(), "start_date": row.start_date.isoformat(),
            "planned_end_date": row.planned_end_date.isoformat(), "state": row.state}


async def visible_contract(request: Request, principal: Principal, contract_id: str):
    async with request.app.state.engine.connect() as conn:
        row = await read_view(conn, contract_id)
    if row is None or not can_see(principal, row.cfa_uai, row.cfa_siret, row.opco):
        raise not_found("contract")
    return row


@router.get("/v1/contracts/{contract_id}", summary="A contract's current state",
            responses={200: {"content": {"application/json": {"example": {**examples.STATE, "state": {}}}}}})
async def get_contract(contract_id: str, request: Request, response: Response, principal: CurrentPrincipal):
    row = await visible_contract(request, principal, contract_id)
    response.headers["ETag"] = f'"{row.version}"'
    return contract_body(row)


@router.get("/v1/contracts/{contract_id}/events", summary="A contract's stream, as CloudEvents",
            responses={200: {"content": {"application/json": {"example": {"events": []}}}}})
async def contract_events(contract_id: str, request: Request, principal: CurrentPrincipal):
    await visible_contract(request, principal, contract_id)
    async with request.app.state.engine.connect() as conn:
        events = await store.read_stream(conn, contract_id)
    return {"events": [to_cloudevent(e, SOURCE, with_position=True) for e in events]}


def _encode_cursor(signed_on: date, contract_id: str) -> str:
    return base64.urlsafe_b64encode(f"{signed_on.isoformat()}|{contract_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[date, str]:
    try:
        day, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return date.fromisoformat(day), cid
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "invalid-cursor", "Invalid cursor", "Pass the cursor a previous page returned.") from None


@router.get("/v1/contracts", summary="Contracts this key may see, by signature date",
            responses={200: {"content": {"application/json": {"example": {"items": [], "next": None}}}}})
async def list_contracts(request: Request, principal: CurrentPrincipal,
                         status: str | None = None, opco: str | None = None, cfa: str | None = None,
                         signed_from: IsoDate | None = None, signed_to: IsoDate | None = None,
                         cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50):
    c = contracts.c
    q = select(contracts)
    if principal.role == "cfa":
        q = q.where(or_(c.cfa_uai == principal.org, c.cfa_siret == principal.org))
    elif principal.role == "opco":
        q = q.where(c.opco == principal.org)
    for col, value in ((c.status, status), (c.opco, opco)):
        if value is not None:
            q = q.where(col == value)
    if cfa is not None:
        q = q.where(or_(c.cfa_uai == cfa, c.cfa_siret == cfa))
    if signed_from is not None:
        q = q.where(c.signed_on >= signed_from)
    if signed_to is not None:
        q = q.where(c.signed_on <= signed_to)
    if cursor:
        q = q.where(tuple_(c.signed_on, c.contract_id) > tuple_(*_decode_cursor(cursor)))
    q = q.order_by(c.signed_on, c.contract_id).limit(limit + 1)
    async with request.app.state.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        params = dict(request.query_params)
        params["cursor"] = _encode_cursor(page[-1].signed_on, page[-1].contract_id)
        nxt = "/v1/contracts?" + urlencode(params)
    return {"items": [contract_body(r) for r in page], "next": nxt}
