"""What the quality unit tests share: keys, a valid body of each record kind, contract events
as the quality consumer receives them (CloudEvents)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from services.quality.domain import records as r
from shared.auth import Principal

TODAY = date(2025, 7, 1)
UAI, OTHER_UAI = "0751234J", "0931234L"
CFA, OTHER_CFA = Principal("k-cfa", "cfa", UAI), Principal("k-other", "cfa", OTHER_UAI)
OPCO = Principal("k-atlas", "opco", "ATLAS")

BODIES = {
    "appraisals": r.Appraisal(stakeholder="financer", financer="ATLAS", kind="survey", score="4", scale_max="5",
                              campaign="2025", recorded_on="2025-06-10"),
    "complaints": r.Complaint.model_validate({"received_on": "2025-03-02", "from": "apprentice", "channel": "email",
                                              "subject": "Planning", "description": "Changed without notice."}),
    "hazards": r.Hazard(occurred_on="2025-02-11", kind="hazard", description="Trainer absent", recorded_by="QL"),
    "incidents": r.Incident(occurred_on="2025-04-03", kind="harassment", apprentice_id="app-1",
                            description="Insults", reported_by="Referent"),
    "measures": r.Measure(origin="complaint", title="Publish ahead", owner="Head", due_on="2025-05-31",
                          opened_on="2025-03-05"),
    "councils": r.Council(planned_on="2025-06-20", period_from="2024-09-01", period_to="2025-06-15"),
}


class Contracts:
    """Contract events one minute apart, as the contracts service publishes them."""

    def __init__(self):
        self.at = datetime(2025, 1, 6, 9, tzinfo=timezone.utc)

    def event(self, kind: str, cid: str, **data) -> dict:
        self.at += timedelta(minutes=1)
        return {"id": str(uuid.uuid4()), "type": f"contract.{kind}", "subject": cid, "time": self.at.isoformat(),
                "data": data}

    def signed(self, cid: str, apprentice: str | None = None, *, uai=UAI, opco="ATLAS", rncp="RNCP35185",
               siret="12345678200010", signed_on="2024-08-26", start="2024-09-01", end="2026-08-31", **extra) -> dict:
        return self.event("signed", cid, contract_id=cid, apprentice={"id": apprentice or f"app-{cid}"},
                          employer={"siret": siret}, opco=opco, cfa={"uai": uai}, certification={"rncp": rncp},
                          signed_on=signed_on, start_date=start, planned_end_date=end, **extra)

    def ruptured(self, cid: str, on: str, reason: str = "mutual_agreement") -> dict:
        return self.event("ruptured", cid, ruptured_on=on, reason=reason, continues_training=False)
