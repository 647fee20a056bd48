"""Value types the API takes: dates only as ISO 8601 ``YYYY-MM-DD`` strings (pydantic's lax mode
would read an integer as a timestamp)."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date as YYYY-MM-DD")


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        return value
    raise ValueError("a timestamp as YYYY-MM-DDTHH:MM:SS+00:00")


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


# Dates: nothing in this domain happened before 1900 or is planned past 2199 (a year 0104 or
# 3873 is a typing error, refused as ``date_out_of_range``). Whether a date may lie in the future
# is the application's decision, with its clock.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def _plausible(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError("date_out_of_range", "a date between {earliest} and {latest}",
                                  {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()})
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible)]


# Text: no control character anywhere (NUL breaks PostgreSQL, the others break logs, CSV and
# pages). ``Line`` is every identifier, code and name; ``Prose`` (descriptions, notes, minutes)
# also keeps tabs and line breaks.
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
PROSE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PROSE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_character(value: str, prose: bool = False) -> bool:
    return (_PROSE_BAD if prose else _LINE_BAD).search(value) is not None


def _line(value: str) -> str:
    if has_control_character(value):
        raise PydanticCustomError("control_character", "control characters are not allowed here")
    return value


def _prose(value: str) -> str:
    if has_control_character(value, prose=True):
        raise PydanticCustomError("control_character", "control characters other than tab and line breaks "
                                                       "are not allowed")
    return value


Line = Annotated[str, AfterValidator(_line), Field(json_schema_extra={"pattern": LINE_PATTERN})]
Prose = Annotated[str, AfterValidator(_prose), Field(json_schema_extra={"pattern": PROSE_PATTERN})]
