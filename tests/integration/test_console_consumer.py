"""Kafka's own console consumer (from the same jars) reads contracts.events, and every record
parses with the official cloudevents SDK."""
import asyncio
import os
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from cloudevents.core.bindings import kafka as ce_kafka

from contract_events.catalogue import CATALOGUE
from operations.rebuild import topic_partitions
from shared.messaging.topics import CONTRACT_EVENTS
from tests.support import Keys, contract_terms, eventually

KAFKA_LIBS = Path(os.environ.get("PARCOURS_CACHE_DIR", Path.home() / ".cache" / "parcours")) / "kafka-3.9.1" / "libs"


async def records_on(settings, topic: str) -> int:
    """How many records the topic holds now (the relay is not transactional: one offset, one
    record). Counted on the topic, not in the store: the relay publishes at least once, so the
    topic may hold a record twice, and the console consumer must read them all."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


async def test_console_consumer_records_parse_as_cloudevents(contracts, keys, settings):
    ids = []
    for _ in range(3):
        r = await contracts.post("/v1/contracts", json=contract_terms(), headers=Keys.header(keys.cfa_a))
        ids.append(r.json()["contract_id"])
    relay = contracts.app.state

    async def published():
        return getattr(relay, "relay", None) and await relay.relay.backlog() == 0
    await eventually(published, what="the relay to publish everything")
    total = await records_on(settings, settings.topic(CONTRACT_EVENTS))

    proc = await asyncio.create_subprocess_exec(
        "java", "-cp", f"{KAFKA_LIBS}/*", "-Dlog4j.configuration=file:deploy/kafka/log4j.properties",
        "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", settings.kafka_bootstrap,
        "--topic", settings.topic(CONTRACT_EVENTS), "--from-beginning", "--max-messages", str(total), "--timeout-ms", "30000",
        "--property", "print.headers=true", "--property", "print.key=true",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    lines = [l for l in out.decode().splitlines() if l.strip()]
    assert len(lines) == total, err.decode()[-2000:]
    parsed = []
    for line in lines:
        headers, key, value = line.split("\t", 2)
        hdrs = dict(h.split(":", 1) for h in headers.split(","))
        message = ce_kafka.KafkaMessage(headers={k: v.encode() for k, v in hdrs.items()}, key=key.encode(),
                                        value=value.encode())
        event = ce_kafka.from_structured_event(message)
        assert event.get_specversion() == "1.0"
        assert event.get_extension("partitionkey") == key
        parsed.append(event)
    subjects = {e.get_subject() for e in parsed}
    assert set(ids) <= subjects
    assert {e.get_type() for e in parsed} <= set(CATALOGUE)
    assert all(e.get_source() == "/parcours/contracts" for e in parsed)
