"""The audit pack's zip (docs/quality.md, *Audit pack*): indicators 30, 31 and 32 as JSON, the
dashboard and each council as printable pages, and a manifest with every file's SHA-256."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime, timezone

from services.quality.api import pages
from services.quality.application.dashboard import council_agenda


def audit_zip(board: dict, cfa: str, start: date, end: date) -> bytes:
    rec = board["records"]
    files = {
        "indicator_30_appraisals.json": {"appraisals": rec.get("appraisal", []), "coverage": board["appraisal_coverage"]},
        "indicator_31_complaints_hazards_incidents.json": {"complaints": rec.get("complaint", []),
                                                           "hazards": rec.get("hazard", []),
                                                           "incidents": rec.get("incident", [])},
        "indicator_32_improvement.json": {"measures": rec.get("measure", []), "ruptures": board["ruptures"],
                                          "absenteeism": board["absenteeism"], "suggestions": board["suggestions"],
                                          "councils": rec.get("council", [])},
    }
    blobs = {name: json.dumps(content, ensure_ascii=False, indent=2).encode() for name, content in files.items()}
    blobs["dashboard.html"] = pages.dashboard(board).encode()
    for council in rec.get("council", []):
        blobs[f"council_{council['id']}.html"] = pages.minutes({**council, "cfa": cfa}, council_agenda(board)).encode()
    manifest = {"cfa": cfa, "from": start.isoformat(), "to": end.isoformat(),
                "generated_at": datetime.now(timezone.utc).isoformat(),
                "files": [{"file": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in blobs.items()]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in blobs.items():
            z.writestr(name, blob)
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
    return buffer.getvalue()
