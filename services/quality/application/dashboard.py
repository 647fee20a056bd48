"""The CFA's tableau de bord (docs/quality.md, *Dashboard*): what needs attention first, then the
figures (one board, used by the JSON endpoint, the page, the council agenda and the audit pack)."""
from __future__ import annotations

from collections import Counter
from datetime import date

from contract_events.facts import ContractFacts, fold_facts
from services.quality.application.recording import record_body
from services.quality.application.unit_of_work import QualityUnitOfWork
from services.quality.domain import analytics as a
from services.quality.domain.council import agenda


async def build(uow: QualityUnitOfWork, cfa: str, today: date, start: date | None = None,
                end: date | None = None) -> dict:
    """The board from the unit's reads (records and absences of the period, all the CFA's contracts)."""
    by_kind: dict[str, list[dict]] = {}
    for item in await uow.records.of_cfa(cfa, start, end):
        by_kind.setdefault(item.kind, []).append(record_body(item))
    facts = list(fold_facts(await uow.contract_events.of_cfa(cfa)).values())
    absence_rows = [{"apprentice_id": x.apprentice_id, "group": x.group, "hours": x.hours, "justified": x.justified}
                    for x in await uow.absences.of_cfa(cfa, start, end)]
    webhooks = [{"url": w.url, "description": w.description, "status": w.status, "pending": w.pending,
                 "oldest_pending_at": w.oldest_pending_at and w.oldest_pending_at.isoformat(),
                 "last_attempt_at": w.last_attempt_at and w.last_attempt_at.isoformat(), "last_outcome": w.last_outcome}
                for w in await uow.webhooks.of_cfa(cfa)]
    return assemble(cfa, today, start, end, by_kind, facts, absence_rows, webhooks)


def assemble(cfa: str, today: date, start: date | None, end: date | None, by_kind: dict[str, list[dict]],
             facts: list[ContractFacts], absence_rows: list[dict], webhooks: list[dict] = ()) -> dict:
    """The board from the records by kind (API bodies), the contracts' facts and the absences."""
    incidents = sorted(by_kind.get("incident", []), key=lambda i: (i["status"] != "to_signal", i["occurred_on"]))
    complaints = by_kind.get("complaint", [])
    measures = by_kind.get("measure", [])
    ruptures = {by: a.ruptures(facts, by) for by in ("certification", "employer", "cohort")}
    absenteeism = a.absenteeism(absence_rows, a.planned_hours(facts))
    suggested = (a.rupture_suggestions(ruptures["certification"], "certification")
                 + a.rupture_suggestions(ruptures["employer"], "employer") + a.absenteeism_suggestions(absenteeism))
    coverage = a.financer_coverage(facts, by_kind.get("appraisal", []), today)
    councils = sorted((c for c in by_kind.get("council", []) if c["status"] == "planned"),
                      key=lambda c: c["planned_on"])
    total = sum(r["contracts"] for r in ruptures["cohort"])
    ruptured = sum(r["ruptures"] for r in ruptures["cohort"])
    return {
        "cfa": cfa, "today": today.isoformat(), "period": {"from": start and start.isoformat(), "to": end and end.isoformat()},
        "incidents": [{**i, "age_days": a.age_days(i["occurred_on"], today), "signalled": i["status"] == "signalled"}
                      for i in incidents],
        "complaints": {"by_status": dict(Counter(c["status"] for c in complaints)),
                       "open": sorted(({"id": c["id"], "subject": c["subject"], "status": c["status"],
                                        "age_days": a.age_days(c["received_on"], today)}
                                       for c in complaints if c["status"] != "closed"), key=lambda c: -c["age_days"])},
        "measures": {"by_status": dict(Counter(m["status"] for m in measures)),
                     "late": [{"id": m["id"], "title": m["title"], "owner": m["owner"], "due_on": m["due_on"]}
                              for m in measures if a.late({"status": m["status"], "data": m}, today)]},
        "hazards": len(by_kind.get("hazard", [])),
        "appraisals": {"count": len(by_kind.get("appraisal", [])),
                       "by_stakeholder": dict(Counter(x["stakeholder"] for x in by_kind.get("appraisal", [])))},
        "appraisal_coverage": coverage,
        "ruptures": ruptures, "rupture_rate": f"{ruptured / total:.3f}" if total else None,
        "absenteeism": absenteeism, "suggestions": [s.as_dict() for s in suggested],
        "next_council": councils[0] if councils else None,
        "webhooks": list(webhooks),   # the CFA's endpoints and their health (docs/webhooks.md)
        # for the pages and the audit pack, not the JSON (INTERNAL)
        "records": by_kind, "suggested": suggested,
    }


INTERNAL = ("records", "suggested")


def public(board: dict) -> dict:
    """The board as the JSON endpoint shows it."""
    return {k: v for k, v in board.items() if k not in INTERNAL}


def council_agenda(board: dict) -> list[dict]:
    measures = board["records"].get("measure", [])
    return agenda({
        "appraisals": board["appraisals"]["count"], "appraisals_by_stakeholder": board["appraisals"]["by_stakeholder"],
        "measures_open": sum(1 for m in measures if m["status"] in ("open", "in_progress")),
        "incidents": len(board["incidents"]), "complaints": board["complaints"]["by_status"],
        "absenteeism_over_threshold": sum(1 for r in board["absenteeism"]["apprentices"] if r["over_threshold"]),
        "hazards": board["hazards"], "ruptures": board["ruptures"]["certification"],
        "financer_gaps": board["appraisal_coverage"]["gaps"], "rupture_rate": board["rupture_rate"],
        "control_findings": sum(1 for m in measures if m["origin"] == "control_finding"),
    })
