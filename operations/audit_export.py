"""Audit trail export: the events of the selected contracts (CloudEvents, JSON Lines), their
funding as known at a time, and a manifest with the SHA-256 of each file."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.adapters.tables import contracts as contracts_view
from services.contracts.adapters.contract_streams import store
from services.contracts.api.event_source import SOURCE
from services.financing.adapters.referential import load_referential
from services.financing.domain.engine import compute
from contract_events.facts import rncp_of
from contract_events.publication import public_data
from contract_events.upcasting import upcast
from shared.envelope import as_stored, to_cloudevent
from shared.eventstore.chain import Break, verify_chain


async def select_contracts(conn: AsyncConnection, contract: str | None, apprentice: str | None, cfa: str | None,
                           start: date | None, end: date | None) -> list[str]:
    c = contracts_view.c
    q = select(c.contract_id)
    if contract:
        q = q.where(c.contract_id == contract)
    elif apprentice:
        q = q.where(c.apprentice_id == apprentice)
    else:
        q = q.where(or_(c.cfa_uai == cfa, c.cfa_siret == cfa))
        if start:
            q = q.where(c.signed_on >= start)
        if end:
            q = q.where(c.signed_on <= end)
    return [r[0] for r in await conn.execute(q.order_by(c.signed_on, c.contract_id))]


async def _paths(conn: AsyncConnection, contract_ids: list[str]) -> list[str]:
    """Every contract of the apprentices concerned: funding is a property of the whole path."""
    c = contracts_view.c
    apprentices = select(c.apprentice_id).where(c.contract_id.in_(contract_ids))
    return [r[0] for r in await conn.execute(select(c.contract_id).where(c.apprentice_id.in_(apprentices)))]


def _write(path: Path, content: bytes) -> dict:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # an interrupted export never leaves a half-written file under its name
    return {"file": path.name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


async def export(conn: AsyncConnection, out: Path, selection: dict, contract_ids: list[str],
                 as_of: datetime | None, personal_data: bool = False) -> dict:
    """``personal_data``: the events as stored, names, NIR and addresses included (an explicit
    choice of the auditor); by default they are left out as on the topic."""
    out.mkdir(parents=True, exist_ok=True)
    by_stream = await store.read_streams(conn, await _paths(conn, contract_ids) if contract_ids else [])
    known = {sid: [e for e in evs if as_of is None or e.recorded_at <= as_of] for sid, evs in by_stream.items()}
    lines = []
    for cid in contract_ids:
        for e in known.get(cid, []):
            ce = to_cloudevent(e, SOURCE, with_position=True, publishable=as_stored if personal_data else public_data)
            lines.append(json.dumps(ce, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    all_events = sorted((e for evs in known.values() for e in evs), key=lambda e: (e.transaction_id, e.global_position))
    current = [{"type": e.type, "subject": e.stream_id, "data": upcast(e.type, e.schema_version, e.data)}
               for e in all_events]
    referential = await load_referential(conn, {r for e in current if (r := rncp_of(e))})
    today = (as_of or datetime.now(timezone.utc)).date()
    result = compute(current, referential, today)
    full = result.as_dict()
    chosen = set(contract_ids)
    projection = {
        "as_of": as_of.isoformat() if as_of else None,
        "contracts": {cid: {"spans": [s for s in full["spans"] if s["contract_id"] == cid],
                            "funding_years": [l for l in full["lines"] if l["contract_id"] == cid],
                            "schedule": [a for a in full["schedule"] if a["contract_id"] == cid]}
                      for cid in contract_ids if cid in result.contracts},
        "totals_by_opco": _totals([l for l in full["lines"] if l["contract_id"] in chosen]),
        "handover": full["handover"],
    }
    breaks = []
    for cid in contract_ids:
        async for item in verify_chain(conn, "contracts", cid):
            if isinstance(item, Break):
                breaks.append(str(item))
    files = [_write(out / "events.jsonl", ("\n".join(lines) + "\n" if lines else "").encode()),
             _write(out / "projection.json", json.dumps(projection, indent=2, ensure_ascii=False).encode())]
    manifest = {"selection": selection, "as_of": projection["as_of"], "personal_data": personal_data,
                "generated_at": datetime.now(timezone.utc).isoformat(), "contracts": contract_ids,
                "events": len(lines), "chain": "intact" if not breaks else breaks, "files": files}
    _write(out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    return manifest


def _totals(lines: list[dict]) -> dict[str, str]:
    from decimal import Decimal
    totals: dict[str, Decimal] = {}
    for l in lines:
        if l["amount"] is not None:
            totals[l["opco"]] = totals.get(l["opco"], Decimal(0)) + Decimal(l["amount"])
    return {k: f"{v:.2f}" for k, v in sorted(totals.items())}
