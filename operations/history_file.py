"""History files: one JSON line per command (the events it appended, per stream, with the version
each stream was at), as `parcours ops generate-history` writes and `parcours ops import-history`
loads. Event ids are part of the file, so loading a file twice writes nothing twice."""
from __future__ import annotations

from contract_events.catalogue import VERSIONS

import json
import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from operations.history_generator import generate

EVENT_IDS = uuid.UUID("6f0c1d1e-8a55-4c1b-9d0e-5e2a7f3b9c10")  # namespace of generated event ids
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class FileEvent:
    line: int
    stream_id: str
    version: int
    event_id: str
    type: str
    data: dict[str, Any]
    partition_key: str
    schema_version: int = 1   # files written before contract.signed v2 name none: version 1


class HistoryFileError(ValueError):
    """A line of the file is malformed or contradicts an earlier line (``code`` says which)."""

    def __init__(self, line: int, code: str, message: str):
        self.line, self.code = line, code
        super().__init__(f"line {line}: {code}: {message}")


def write(path: Path, contracts: int, seed: int = 7) -> int:
    """Write a generated history; returns the number of events."""
    events = 0
    with path.open("w", encoding="utf-8") as out:
        for append in generate(contracts, seed):
            streams = []
            for stream_id, expected, evts in append.streams:
                streams.append({"stream": stream_id, "expected_version": expected, "events": [
                    {"id": str(uuid.uuid5(EVENT_IDS, f"{stream_id}:{expected + i}")), "type": t,
                     "schema_version": VERSIONS[t], "data": d}
                    for i, (t, d) in enumerate(evts, start=1)]})
                events += len(evts)
            out.write(json.dumps({"partition_key": append.partition_key, "streams": streams},
                                 separators=(",", ":"), ensure_ascii=False) + "\n")
    return events


def read(path: Path, *, chunk_events: int = 20_000) -> Iterator[list[FileEvent]]:
    """The file's events in chunks of whole lines, each stream's versions checked to follow on
    from the line before (the first line of a stream states the version the store must be at)."""
    last: dict[str, int] = {}
    chunk: list[FileEvent] = []
    with path.open(encoding="utf-8") as lines:
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            chunk.extend(_parse(n, raw, last))
            if len(chunk) >= chunk_events:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parse(n: int, raw: str, last: dict[str, int]) -> list[FileEvent]:
    try:
        line = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        key, streams = line["partition_key"], line["streams"]
        if not isinstance(key, str) or not key or not isinstance(streams, list) or not streams:
            raise TypeError
        out = []
        for s in streams:
            stream_id, expected, events = s["stream"], s["expected_version"], s["events"]
            if not isinstance(stream_id, str) or type(expected) is not int or expected < 0 or not events:
                raise TypeError
            if stream_id in last and last[stream_id] != expected:
                raise HistoryFileError(n, "version_gap", f"stream {stream_id} is at version {last[stream_id]} "
                                                         f"in the file, the line expects {expected}")
            for i, e in enumerate(events, start=1):
                schema_version = e.get("schema_version", 1)
                if not isinstance(e["type"], str) or not isinstance(e["data"], dict) \
                        or type(schema_version) is not int or schema_version < 1:
                    raise TypeError
                out.append(FileEvent(n, stream_id, expected + i, _event_id(e["id"]), e["type"], e["data"], key,
                                     schema_version))
            last[stream_id] = expected + len(events)
        return out
    except HistoryFileError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise HistoryFileError(n, "malformed_line", "expected {partition_key, streams: [{stream, "
                                                    "expected_version, events: [{id, type, schema_version?, data}]}]}") from exc


def _not_json(constant: str):
    """NaN and Infinity, which json would read, are not JSON: no store could keep them."""
    raise ValueError(f"{constant} is not JSON")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):   # 1e400: Infinity once read
        raise ValueError(f"{literal} is out of range")
    return value


def _event_id(value) -> str:
    """The id in its canonical form (as the store prints it); parsing it is only needed when it
    is written otherwise."""
    if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
        return value
    return str(uuid.UUID(value))
