"""Kafka topic creation: event topics keep everything (retention.ms=-1) so projections can be
rebuilt from offset 0."""
from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import Settings

CONTRACT_EVENTS = "contracts.events"
FINANCING_EVENTS = "financing.events"
QUALITY_EVENTS = "quality.events"


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


async def ensure_topics(settings: Settings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(n) for n in names]
        new = [NewTopic(name=n, num_partitions=settings.topic_partitions, replication_factor=1,
                        topic_configs={"retention.ms": "-1"})
               for n in wanted if n not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
