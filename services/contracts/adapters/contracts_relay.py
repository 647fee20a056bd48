"""The relay of the contracts store to `contracts.events`, defined once for the service, the ops
CLI (`parcours ops relay run`) and the benchmark: each publishes the events' public data only
(contract_events.publication.public_data: the personal fields stay in the store, docs/events.md,
"Personal data"), under the contracts' CloudEvents source."""
from __future__ import annotations

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from contract_events.publication import public_data
from services.contracts.adapters.contract_streams import store
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import CONTRACT_EVENTS
from shared.settings import Settings

SOURCE = "/parcours/contracts"  # the CloudEvents source of every contract event: on Kafka, in the feed, in a stream


def contracts_relay(engine: AsyncEngine, producer: AIOKafkaProducer, settings: Settings, *,
                    batch_size: int | None = None) -> OutboxRelay:
    return OutboxRelay(engine, store, producer, settings.topic(CONTRACT_EVENTS), SOURCE,
                       batch_size=batch_size or settings.relay_batch_size, idle_seconds=settings.relay_idle_seconds,
                       publishable=public_data)
