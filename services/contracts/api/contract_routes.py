"""Reading contracts: one contract's current state, its stream as CloudEvents, and the listing
by signature date (keyset pages, an opaque cursor)."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from contract_events.catalogue import VERSIONS
from contract_events.publication import public_data
from services.contracts.api import examples
from services.contracts.api.dependencies import UnitOfWork
from services.contracts.api.event_source import SOURCE
from services.contracts.api.listing_cursor import decode_cursor, encode_cursor
from services.contracts.application import contract_reads
from services.contracts.application.unit_of_work import ContractView, ListFilters
from shared.auth import CurrentPrincipal
from shared.envelope import to_cloudevent
from shared.types import IsoDate

router = APIRouter(tags=["contracts"])


def contract_body(view: ContractView) -> dict:
    """A contract as the API lists it: its state, the CERFA without personal data (that is
    GET /v1/contracts/{id}/cerfa's, for the CFA and the OPCO)."""
    state = {**view.state, "terms": public_data("contract.signed", VERSIONS["contract.signed"], view.state["terms"])}
    return {"contract_id": view.contract_id, "status": view.status, "version": view.version,
            "apprentice_id": view.apprentice_id, "cfa_uai": view.cfa_uai, "opco": view.opco,
            "signed_on": view.signed_on.isoformat(), "start_date": view.start_date.isoformat(),
            "planned_end_date": view.planned_end_date.isoformat(), "state": state}


@router.get("/v1/contracts/{contract_id}", summary="A contract's current state",
            responses={200: {"content": {"application/json": {"example": {**examples.STATE, "state": {}}}}}})
async def get_contract(contract_id: str, response: Response, principal: CurrentPrincipal, uow: UnitOfWork):
    view = await contract_reads.get_contract(uow, principal, contract_id)
    response.headers["ETag"] = f'"{view.version}"'
    return contract_body(view)


@router.get("/v1/contracts/{contract_id}/events", summary="A contract's stream, as CloudEvents",
            responses={200: {"content": {"application/json": {"example": {"events": []}}}}})
async def contract_events(contract_id: str, principal: CurrentPrincipal, uow: UnitOfWork):
    events = await contract_reads.contract_stream(uow, principal, contract_id)
    return {"events": [to_cloudevent(e, SOURCE, with_position=True, publishable=public_data) for e in events]}


@router.get("/v1/contracts", summary="Contracts this key may see, by signature date",
            responses={200: {"content": {"application/json": {"example": {"items": [], "next": None}}}}})
async def list_contracts(request: Request, principal: CurrentPrincipal, uow: UnitOfWork,
                         status: str | None = None, opco: str | None = None, cfa: str | None = None,
                         signed_from: IsoDate | None = None, signed_to: IsoDate | None = None,
                         cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50):
    after = decode_cursor(cursor) if cursor else None
    page = await contract_reads.list_contracts(uow, principal, ListFilters(status, opco, cfa, signed_from, signed_to),
                                               after, limit)
    nxt = None
    if page.more:
        params = dict(request.query_params)
        params["cursor"] = encode_cursor(page.items[-1].signed_on, page.items[-1].contract_id)
        nxt = "/v1/contracts?" + urlencode(params)
    return {"items": [contract_body(v) for v in page.items], "next": nxt}
