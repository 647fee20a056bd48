"""What the webhooks routes depend on: the unit of work, the clock, the address resolver and the
hosts the operator allows (tests and the demo allow loopback)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Collection

from fastapi import Depends, Request

from services.webhooks.adapters.sql_unit_of_work import SqlUnitOfWork
from services.webhooks.application.endpoints import Resolve
from shared.api.dependencies import units_of_work

UnitOfWork, SnapshotUnitOfWork = units_of_work(SqlUnitOfWork)


def _now(request: Request) -> datetime:
    return request.app.state.clock.now()


def _resolve(request: Request) -> Resolve:
    return request.app.state.resolve


def _allowed(request: Request) -> Collection[str]:
    return request.app.state.settings.webhook_hosts


Now = Annotated[datetime, Depends(_now)]
Resolver = Annotated[Resolve, Depends(_resolve)]
AllowedHosts = Annotated[Collection[str], Depends(_allowed)]
