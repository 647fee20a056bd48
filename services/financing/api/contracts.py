"""Financing view of a contract."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from shared.tenancy import can_see
from services.financing.adapters.tables import contracts
from shared.api.problems import not_found
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["financing"])


@router.get("/v1/financing/contracts/{contract_id}", summary="A contract's funding")
async def financing_contract(contract_id: str, request: Request, principal: CurrentPrincipal):
    async with request.app.state.engine.connect() as conn:
        row = (await conn.execute(select(contracts).where(contracts.c.contract_id == contract_id))).first()
    if row is None or not can_see(principal, row.cfa_uai, row.cfa_siret, row.opco):
        raise not_found("contract")
    return {"contract_id": row.contract_id, "apprentice_id": row.apprentice_id, "cfa_uai": row.cfa_uai,
            "opco": row.opco, "regime": row.regime, "status": row.status, "version": row.version,
            "signed_on": row.signed_on.isoformat(), "start_date": row.start_date.isoformat(),
            "planned_end_date": row.planned_end_date.isoformat(), "planned_funded_months": row.planned_months}
