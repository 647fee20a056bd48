"""Values the event store takes and returns."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamAppend:
    """Events to append to one stream, which must be at ``expected_version`` (0: new)."""
    stream_id: str
    expected_version: int
    events: list[NewEvent]


@dataclass(frozen=True)
class RecordedEvent:
    global_position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def cursor(self) -> "Cursor":
        return Cursor(self.transaction_id, self.global_position)


@dataclass(frozen=True, order=True)
class Cursor:
    """A point in commit order: (transaction id, global position). ``Cursor()`` is the start."""
    transaction_id: int = 0
    global_position: int = 0


class ConcurrencyConflict(Exception):
    """The stream is not at the expected version: somebody appended first."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None):
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        super().__init__(f"stream {stream_id}: expected version {expected}, found {actual}")


class DuplicateEvent(Exception):
    """An event with this id is already recorded."""
