"""The headers of the contract commands: Idempotency-Key (retry-safe POST) and If-Match (the
version the caller read, as its ETag)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.api.problems import Problem

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the ETag read, e.g. "3"')]


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match names (a weak ETag too); 400 when it names none."""
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(400, "invalid-if-match", "Invalid If-Match", 'Send the ETag you read, e.g. If-Match: "3".')
    return int(tag)
