"""Rupture and absenteeism analyses, and the thresholds that suggest an improvement measure (pure)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Callable, Iterable

from contract_events.facts import ContractFacts
from kernel.months import add_months

FREE_RUPTURE_DAYS = 45            # L6222-18: first 45 days of practical training (counted here in calendar days)
RUPTURE_RATE_THRESHOLD = Decimal("0.20")
RUPTURE_MIN_CONTRACTS = 5
ABSENCE_RATE_THRESHOLD = Decimal("0.10")
YEARLY_TRAINING_HOURS = Decimal(400)  # when a contract states no training hours


@dataclass(frozen=True)
class Suggestion:
    """``about`` and ``reason`` are the API's wording; the figures they are made of are kept for
    the pages, which word them in French."""
    origin: str
    about: str
    reason: str
    subject_kind: str = ""        # certification, employer or apprentice
    subject: str = ""             # the RNCP code, the SIRET or the apprentice's id
    percent: int = 0              # the rate past its threshold, in whole percent
    contracts: int | None = None  # the contracts the rupture rate is over

    def as_dict(self) -> dict:
        return {"origin": self.origin, "about": self.about, "reason": self.reason}


KEYS: dict[str, Callable[[ContractFacts], str]] = {
    "certification": lambda c: c.rncp or "unknown",
    "employer": lambda c: c.employer_siret or "unknown",
    "cohort": lambda c: str(c.start_date.year),
}


def ruptures(contracts: Iterable[ContractFacts], by: str) -> list[dict]:
    groups: dict[str, list[ContractFacts]] = defaultdict(list)
    for c in contracts:
        if not c.cancelled:
            groups[KEYS[by](c)].append(c)
    out = []
    for key, members in sorted(groups.items()):
        ruptured = [c for c in members if c.ruptured_on is not None]
        days = [(c.ruptured_on - c.start_date).days for c in ruptured]
        rehired = [c for c in ruptured if c.successor_signed_on is not None
                   and c.successor_signed_on <= add_months(c.ruptured_on, 6)]
        rate = (Decimal(len(ruptured)) / len(members)).quantize(Decimal("0.001"))
        out.append({by: key, "contracts": len(members), "ruptures": len(ruptured), "rate": str(rate),
                    "median_days_to_rupture": median(days) if days else None,
                    "within_45_days": sum(d < FREE_RUPTURE_DAYS for d in days),
                    "after_45_days": sum(d >= FREE_RUPTURE_DAYS for d in days),
                    "reasons": dict(Counter(c.rupture_reason or "unknown" for c in ruptured)),
                    "rehired_within_6_months": len(rehired)})
    return out


def rupture_suggestions(rows: list[dict], by: str) -> list[Suggestion]:
    return [Suggestion("rupture_analysis", f"{by} {r[by]}",
                       f"rupture rate {Decimal(r['rate']) * 100:.0f} % over {r['contracts']} contracts",
                       by, r[by], int(f"{Decimal(r['rate']) * 100:.0f}"), r["contracts"])
            for r in rows if r["contracts"] >= RUPTURE_MIN_CONTRACTS and Decimal(r["rate"]) > RUPTURE_RATE_THRESHOLD]


def planned_hours(contracts: Iterable[ContractFacts]) -> dict[str, Decimal]:
    """Training hours planned per apprentice: the contracts' stated hours, else 400 h a year."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for c in contracts:
        if c.cancelled:
            continue
        if c.training_hours:
            out[c.apprentice_id] += Decimal(c.training_hours)
        else:
            days = (c.planned_end_date - c.start_date).days + 1
            out[c.apprentice_id] += (YEARLY_TRAINING_HOURS * days / 365).quantize(Decimal(1))
    return out


def absenteeism(absences: Iterable[dict], planned: dict[str, Decimal]) -> dict:
    per: dict[str, dict] = {}
    groups: dict[str, Decimal] = defaultdict(Decimal)
    for a in absences:
        row = per.setdefault(a["apprentice_id"], {"apprentice_id": a["apprentice_id"], "group": a.get("group"),
                                                   "hours": Decimal(0), "justified_hours": Decimal(0)})
        row["hours"] += Decimal(a["hours"])
        if a["justified"]:
            row["justified_hours"] += Decimal(a["hours"])
        groups[a.get("group") or "none"] += Decimal(a["hours"])
    apprentices = []
    for row in per.values():
        plan = planned.get(row["apprentice_id"])
        rate = (row["hours"] / plan).quantize(Decimal("0.001")) if plan else None
        apprentices.append({**row, "hours": str(row["hours"]), "justified_hours": str(row["justified_hours"]),
                            "unjustified_hours": str(row["hours"] - row["justified_hours"]),
                            "planned_hours": str(plan) if plan else None, "rate": str(rate) if rate is not None else None,
                            "over_threshold": rate is not None and rate > ABSENCE_RATE_THRESHOLD})
    apprentices.sort(key=lambda r: Decimal(r["rate"] or 0), reverse=True)
    return {"apprentices": apprentices, "groups": {g: str(h) for g, h in sorted(groups.items())},
            "threshold": str(ABSENCE_RATE_THRESHOLD)}


def absenteeism_suggestions(result: dict) -> list[Suggestion]:
    return [Suggestion("absenteeism_analysis", f"apprentice {r['apprentice_id']}",
                       f"absent {Decimal(r['rate']) * 100:.0f} % of planned training hours",
                       "apprentice", r["apprentice_id"], int(f"{Decimal(r['rate']) * 100:.0f}"))
            for r in result["apprentices"] if r["over_threshold"]]


def financer_coverage(contracts: Iterable[ContractFacts], appraisals: Iterable[dict], today: date) -> dict:
    """Every OPCO funding one of the CFA's contracts in the last year needs an appraisal (or a
    recorded webinar or meeting) in the last 12 months."""
    since = add_months(today, -12)
    funders = {c.opco for c in contracts if c.opco and not c.cancelled and
               (c.signed_on >= since or (c.ruptured_on or c.completed_on or c.planned_end_date) >= since)}
    last: dict[str, date] = {}
    for a in appraisals:
        when = date.fromisoformat(a["recorded_on"])
        if a.get("stakeholder") == "financer" and a.get("financer") and since <= when <= today:
            last[a["financer"]] = max(last.get(a["financer"], when), when)
    rows = [{"opco": o, "last_appraisal_on": last[o].isoformat() if o in last else None, "covered": o in last}
            for o in sorted(funders)]
    return {"since": since.isoformat(), "financers": rows, "gaps": [r["opco"] for r in rows if not r["covered"]]}


def late(measure: dict, today: date) -> bool:
    return measure["status"] in ("open", "in_progress") and date.fromisoformat(measure["data"]["due_on"]) < today


def age_days(on: str, today: date) -> int:
    return (today - date.fromisoformat(on)).days


__all__ = ["ruptures", "rupture_suggestions", "absenteeism", "absenteeism_suggestions", "financer_coverage",
           "planned_hours", "late", "age_days"]
