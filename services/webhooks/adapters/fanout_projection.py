"""The fan-out as a consumer projection (shared/messaging/consumer.py): each batch of
contracts.events and financing.events becomes messages and deliveries in the batch's transaction,
beside the consumer's offsets."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.webhooks.adapters.sql_unit_of_work import SqlUnitOfWork
from services.webhooks.application.fanout import fan_out
from shared.envelope import encode

CONSUMER = "webhooks.fanout"


class FanOutProjection:
    name = CONSUMER

    def __init__(self, clock):
        self.clock = clock

    async def apply(self, conn: AsyncConnection, events: list[dict[str, Any]]) -> None:
        # encode() gives back the bytes the relay published (same separators, same key order)
        await fan_out(SqlUnitOfWork.joining(conn), [(ce, encode(ce)) for ce in events], self.clock.now())
