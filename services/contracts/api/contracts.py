"""Contracts resource: sign, read, its stream."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.contracts.adapters.unit_of_work import ContractsUnitOfWork, read_view, store
from services.contracts.application.sign import sign_contract
from shared.tenancy import can_see
from services.contracts.domain.model import ContractTerms
from shared.api.problems import not_found
from shared.auth import CurrentPrincipal
from shared.envelope import to_cloudevent

SOURCE = "/parcours/contracts"
router = APIRouter(tags=["contracts"])


def contract_body(row) -> dict:
    return {"contract_id": row.contract_id, "status": row.status, "version": row.version,
            "apprentice_id": row.apprentice_id, "cfa_uai": row.cfa_uai, "opco": row.opco,
            "signed_on": row.signed_on.isoformat(), "start_date": row.start_date.isoformat(),
            "planned_end_date": row.planned_end_date.isoformat(), "state": row.state}


async def visible_contract(request: Request, principal, contract_id: str):
    async with request.app.state.engine.connect() as conn:
        row = await read_view(conn, contract_id)
    if row is None or not can_see(principal, row.cfa_uai, row.cfa_siret, row.opco):
        raise not_found("contract")
    return row


@router.post("/v1/contracts", status_code=201, summary="Sign a contract (CFA key)")
async def sign(terms: ContractTerms, request: Request, principal: CurrentPrincipal):
    state = await sign_contract(ContractsUnitOfWork(request.app.state.engine), terms, principal)
    location = f"/v1/contracts/{state.contract_id}"
    return JSONResponse({"contract_id": state.contract_id, "version": state.version, "status": state.status,
                         "opco": state.opco}, status_code=201,
                        headers={"Location": location, "ETag": f'"{state.version}"'})


@router.get("/v1/contracts/{contract_id}", summary="A contract's current state")
async def get_contract(contract_id: str, request: Request, response: Response, principal: CurrentPrincipal):
    row = await visible_contract(request, principal, contract_id)
    response.headers["ETag"] = f'"{row.version}"'
    return contract_body(row)


@router.get("/v1/contracts/{contract_id}/events", summary="A contract's stream, as CloudEvents")
async def contract_events(contract_id: str, request: Request, principal: CurrentPrincipal):
    await visible_contract(request, principal, contract_id)
    async with request.app.state.engine.connect() as conn:
        events = await store.read_stream(conn, contract_id)
    return {"events": [to_cloudevent(e, SOURCE, with_position=True) for e in events]}
