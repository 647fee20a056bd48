"""From the topics to deliveries (docs/webhooks.md, "How it works"): each event consumed is kept
once as a message (its CloudEvent as published, the parties who may see it), and one delivery is
recorded for every endpoint whose owner may see it and whose types name it, in the consumer's
transaction (with its offsets): a crash replays the batch, and neither messages nor deliveries
are written twice."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from kernel.access import Principal
from services.webhooks.application.unit_of_work import Message, WebhooksUnitOfWork
from services.webhooks.domain.audience import NOBODY, Parties, learned, may_receive, parties_key
from services.webhooks.domain.endpoints import expand


def ordering_key(ce: dict[str, Any]) -> str:
    """Deliveries of one key go in order: the topic's own order (its partition key) per source."""
    return f"{ce.get('source')}|{ce.get('partitionkey') or ce.get('subject') or ''}"


async def fan_out(uow: WebhooksUnitOfWork, events: list[tuple[dict[str, Any], bytes]], now: datetime) -> int:
    """``events``: (CloudEvent, its bytes as published) in topic order; returns the deliveries
    recorded."""
    async with uow:
        keys = {k for ce, _ in events if (k := parties_key(ce))}
        known = await uow.messages.parties(keys)
        changed: dict[str, Parties] = {}
        messages = []
        for ce, body in events:
            key = parties_key(ce)
            parties = learned(ce, known.get(key, NOBODY)) if key else NOBODY
            if key and parties != known.get(key, NOBODY):
                known[key] = changed[key] = parties
            messages.append(Message(str(ce["id"]), str(ce["type"]), ordering_key(ce),
                                    datetime.fromisoformat(ce["time"]) if ce.get("time") else now, parties, body))
        if changed:
            await uow.messages.save_parties(changed)
        positions = await uow.messages.add(messages)
        # each endpoint's types and owner worked out once per batch
        endpoints = [(e.endpoint_id, set(expand(e.event_types)), Principal("", e.owner_role, e.owner_org))
                     for e in await uow.endpoints.all_live()]
        rows = []
        for m in messages:
            if m.message_id not in positions:
                continue   # already kept: its deliveries were recorded with it
            rows += [(endpoint_id, positions[m.message_id], m.ordering_key) for endpoint_id, types, owner in endpoints
                     if m.type in types and may_receive(owner, m.parties)]
        added = await uow.deliveries.add(rows, now) if rows else 0
        await uow.commit()
    return added
