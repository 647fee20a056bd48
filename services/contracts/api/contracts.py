"""The contracts resource: the command routes (sign, every lifecycle command) then the reading
routes, in that order in the OpenAPI document; and the CloudEvents source (operations/ imports it
from here)."""
from __future__ import annotations

from fastapi import APIRouter

from services.contracts.api import command_routes, contract_routes
from services.contracts.api.event_source import SOURCE

__all__ = ["SOURCE", "router"]

router = APIRouter()
router.include_router(command_routes.router)
router.include_router(contract_routes.router)
