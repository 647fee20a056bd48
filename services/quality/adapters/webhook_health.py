"""The CFA's webhook endpoints and their health, for its dashboard: read from the view the
webhooks service publishes for it (``webhooks.endpoint_health``, its migration webhooks_0001),
the one place the quality service reads another service's schema."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.quality.application.unit_of_work import EndpointHealth

_OF_CFA = text("SELECT url, description, status, pending, oldest_pending_at, last_attempt_at, last_outcome "
               "FROM webhooks.endpoint_health WHERE owner_role = 'cfa' AND owner_org = :cfa ORDER BY url")


class SqlWebhookHealth:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def of_cfa(self, cfa: str) -> list[EndpointHealth]:
        return [EndpointHealth(r.url, r.description, r.status, r.pending or 0, r.oldest_pending_at,
                               r.last_attempt_at, r.last_outcome)
                for r in await self.conn.execute(_OF_CFA, {"cfa": cfa})]
