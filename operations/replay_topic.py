"""Copy a time slice of a topic to files for offline analysis, with the offsets it covered."""
from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from operations.rebuild import topic_partitions
from shared.settings import Settings


def _value(raw: bytes):
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return {"base64": base64.b64encode(raw or b"").decode()}


async def replay(settings: Settings, topic: str, start: datetime, end: datetime, into: Path) -> dict:
    into.mkdir(parents=True, exist_ok=True)
    parts = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    covered = {}
    try:
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        firsts = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in parts})
        lasts = await consumer.offsets_for_times({tp: int(end.timestamp() * 1000) for tp in parts})
        for tp in parts:
            lo = firsts[tp].offset if firsts[tp] else ends[tp]
            hi = lasts[tp].offset if lasts[tp] else ends[tp]
            path = into / f"{topic}-{tp.partition}.jsonl"
            lines = []
            if lo < hi:
                consumer.seek(tp, lo)
                position = lo
                while position < hi:
                    batch = await consumer.getmany(tp, timeout_ms=1000, max_records=5000)
                    for r in batch.get(tp, []):
                        if r.offset >= hi:
                            break
                        lines.append(json.dumps({"partition": r.partition, "offset": r.offset,
                                                 "timestamp": r.timestamp, "key": (r.key or b"").decode(errors="replace"),
                                                 "headers": {k: v.decode(errors="replace") for k, v in r.headers or []},
                                                 "value": _value(r.value)}, ensure_ascii=False, sort_keys=True))
                        position = r.offset + 1
            content = ("\n".join(lines) + "\n" if lines else "").encode()
            tmp = path.with_suffix(".jsonl.tmp")
            tmp.write_bytes(content)
            os.replace(tmp, path)
            covered[tp.partition] = {"from_offset": lo, "to_offset": hi, "records": len(lines), "file": path.name,
                                     "sha256": hashlib.sha256(content).hexdigest()}
    finally:
        await consumer.stop()
    summary = {"topic": topic, "from_time": start.isoformat(), "to_time": end.isoformat(), "partitions": covered}
    (into / "offsets.json").write_text(json.dumps(summary, indent=2))
    return summary
