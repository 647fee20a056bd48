"""The contracts resource: the command routes (sign, every lifecycle command) then the reading
routes, in that order in the OpenAPI document."""
from __future__ import annotations

from fastapi import APIRouter

from services.contracts.api import cerfa_routes, command_routes, contract_routes, deca_routes

__all__ = ["router"]

router = APIRouter()
router.include_router(command_routes.router)
router.include_router(contract_routes.router)
router.include_router(cerfa_routes.router)
router.include_router(deca_routes.router)
