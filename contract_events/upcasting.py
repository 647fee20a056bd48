"""Upcasting: every reader takes an event at the version it was written in and reads it at the
current one, here and nowhere else (the eventsourcing library's ``upcast_v1_v2`` pattern: one
pure function per event type and version step, applied on read; the stored event is never
rewritten, so the hash chain keeps verifying).

Version 1 of ``contract.signed`` was eight summary fields at the top level; version 2 is the CERFA
grouped as the form is (contract_events.cerfa). Version 1 of ``contract.amended`` listed its
``changes`` by those top-level names; version 2's ``changes`` is a JSON Merge Patch (RFC 7386)
over the CERFA. docs/cerfa.md has the field-by-field mapping."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Callable

from kernel.months import add_months

Data = dict[str, Any]

# v1 top-level name -> (section, name in the section); names not listed keep their place.
_V1_PLACES: dict[str, tuple[str, str]] = {
    "signed_on": ("contract", "signed_on"), "start_date": ("contract", "start_date"),
    "planned_end_date": ("contract", "planned_end_date"), "contract_type": ("contract", "type"),
    "previous_contract_id": ("contract", "previous_contract_id"),
    "duration_adjustment": ("contract", "duration_adjustment"), "derogation_codes": ("contract", "derogations"),
    "cfa": ("training", "cfa"), "certification": ("training", "certification"),
    "training_hours": ("training", "hours"), "training_started_on": ("training", "cycle_start"),
    "remote_training_share_at_least_80_percent": ("training", "remote_at_least_80_percent"),
}
V2_TOP_LEVEL = ("contract_id", "employer", "apprentice", "masters", "contract", "training", "opco")


def _weekly(hours: Any) -> dict[str, int]:
    total = Decimal(str(hours))
    whole = int(total)
    return {"weekly_hours": whole, "weekly_minutes": int(((total - whole) * 60).to_integral_value())}


def _master(master: Data) -> list[Data]:
    out = {k: v for k, v in (("birth_date", master.get("birth_date")), ("birth_name", master.get("name")))
           if v is not None}
    return [out] if out else []


def _pay(lines: list[Data], start: str | None) -> list[Data]:
    """v1 remuneration (a % of the SMIC per contract year, from ``starts_on`` when the rate
    changes within the year) as v2 pay lines, oldest first."""
    out = []
    for line in lines:
        starts_on = line.get("starts_on")
        if starts_on is None and start is not None:
            starts_on = add_months(date.fromisoformat(start), 12 * (int(line["year"]) - 1)).isoformat()
        out.append({"year": line["year"], "starts_on": starts_on, "pct": line["pct_smic"], "base": "SMIC"})
    return sorted(out, key=lambda p: (p["starts_on"] or "", p["year"]))


def v1_fields_to_v2(v1: Data, start: str | None = None) -> Data:
    """Version 1 top-level fields (a whole signature or an amendment's changes) as a version 2
    document (or merge patch). ``start``: the contract's start date, for pay lines given by year
    only when the fields do not hold it."""
    out: Data = {}
    start = v1.get("start_date", start)
    for name, value in v1.items():
        if name in _V1_PLACES:
            section, field = _V1_PLACES[name]
            out.setdefault(section, {})[field] = value
        elif name == "weekly_work_hours":
            if value is not None:
                out.setdefault("contract", {}).update(_weekly(value))
        elif name == "master":
            out["masters"] = _master(value or {})
        elif name == "remuneration":
            out.setdefault("contract", {})["pay"] = _pay(value or [], start)
        else:                                   # contract_id, apprentice, employer, opco
            out[name] = value
    return out


def _signed_1_to_2(data: Data) -> Data:
    return v1_fields_to_v2(data)


def _amended_1_to_2(data: Data) -> Data:
    return {**data, "changes": v1_fields_to_v2(data.get("changes") or {})}


# (event type, version read) -> the step to the next version
UPCASTERS: dict[tuple[str, int], Callable[[Data], Data]] = {
    ("contract.signed", 1): _signed_1_to_2,
    ("contract.amended", 1): _amended_1_to_2,
}
CURRENT_VERSIONS: dict[str, int] = {"contract.signed": 2, "contract.amended": 2}


def current_version(event_type: str) -> int:
    return CURRENT_VERSIONS.get(event_type, 1)


def upcast(event_type: str, version: int, data: Data) -> Data:
    """``data`` of an event written at ``version``, read at the current version."""
    while (step := UPCASTERS.get((event_type, version))) is not None:
        data, version = step(data), version + 1
    return data


def version_of(dataschema: str | None) -> int:
    """The version a CloudEvents ``dataschema`` (``urn:parcours:schemas:events/{type}/{n}``)
    names; 1 when absent (every record published before version 2 carried 1)."""
    if not dataschema:
        return 1
    tail = dataschema.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def upcast_cloudevent(ce: Data) -> Data:
    """A CloudEvent as read from the topic or a feed, its data at the current version."""
    version = version_of(ce.get("dataschema"))
    target = current_version(ce.get("type", ""))
    if version >= target:
        return ce
    return {**ce, "data": upcast(ce["type"], version, ce.get("data") or {}),
            "dataschema": ce["dataschema"].rsplit("/", 1)[0] + f"/{target}" if ce.get("dataschema") else None}


def implied_version(event_type: str, data: Data) -> int:
    """The version of data kept without one (a reader's copies made before version 2 existed):
    a version 2 signature has the CERFA's sections, a version 2 amendment patches them."""
    if event_type == "contract.signed":
        return 2 if "contract" in data else 1
    if event_type == "contract.amended":
        changes = data.get("changes") or {}
        return 2 if all(k in V2_TOP_LEVEL for k in changes) else 1   # employer, apprentice, opco: both alike
    return 1


def read_data(event: Data) -> Data:
    """An event's data at the current version: a CloudEvent's ``dataschema`` names its version;
    data kept without one is recognised by its shape (``implied_version``)."""
    data = event.get("data") or {}
    kind = event.get("type", "")
    if kind not in CURRENT_VERSIONS:
        return data
    version = version_of(event["dataschema"]) if event.get("dataschema") else implied_version(kind, data)
    return upcast(kind, version, data)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge key by key, ``null`` removes, anything else
    (lists included) replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def changes_to_patch(changes: Data, start: str | None = None) -> Data:
    """An amendment's ``changes`` as a version 2 merge patch: names of version 1 (``planned_end_date``,
    ``cfa``, ``remuneration``...) are moved to their section; version 2 sections are kept."""
    v1 = {k: v for k, v in changes.items() if k not in V2_TOP_LEVEL or k in ("employer", "apprentice", "opco")}
    v2 = {k: v for k, v in changes.items() if k in V2_TOP_LEVEL and k not in ("employer", "apprentice", "opco")}
    moved = v1_fields_to_v2(v1, start)
    return merge_patch(moved, v2) if v2 else moved


def diff_patch(old: Any, new: Any) -> Any:
    """The smallest merge patch that turns ``old`` into ``new`` (both JSON objects): changed and
    added keys, ``null`` for removed ones, nested objects by their own patch."""
    out: Data = {}
    for key in old.keys() - new.keys():
        out[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            if (inner := diff_patch(before, value)):
                out[key] = inner
        elif value != before:
            out[key] = value
    return out
