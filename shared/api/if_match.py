"""If-Match, the header of the commands that change a versioned resource (a contract, an invoice): the version the caller
read, as its ETag (Idempotency-Key is shared/api/idempotency.py's)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.api.problems import Problem

IfMatch = Annotated[str | None, Header(alias="If-Match", description='the ETag read, e.g. "3"')]


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match names (a weak ETag too); 400 when it names none."""
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(400, "invalid-if-match", "Invalid If-Match", 'Send the ETag you read, e.g. If-Match: "3".')
    return int(tag)
