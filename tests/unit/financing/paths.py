"""Contract events of apprentice paths, as the financing consumer receives them (CloudEvents)."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from shared.auth import Principal

UAI, SIRET = "0751234J", "98765432400019"
OTHER_UAI, OTHER_SIRET = "0931234L", "44306184100047"
CFA_BY_UAI, CFA_BY_SIRET = Principal("k-uai", "cfa", UAI), Principal("k-siret", "cfa", SIRET)
OTHER_CFA, OTHER_CFA_SIRET = Principal("k-other", "cfa", OTHER_UAI), Principal("k-other-s", "cfa", OTHER_SIRET)
ATLAS, AKTO = Principal("k-atlas", "opco", "ATLAS"), Principal("k-akto", "opco", "AKTO")
OPS = Principal("k-ops", "ops", "ops")


class History:
    """Events one minute apart, numbered per contract (the stream's sequence)."""

    def __init__(self, start: datetime = datetime(2025, 1, 6, 9, tzinfo=timezone.utc)):
        self.at, self.sequence = start, defaultdict(int)

    def event(self, kind: str, cid: str, key: str, **data) -> dict:
        """``key``: the apprentice, the partition key of the path."""
        self.sequence[cid] += 1
        self.at += timedelta(minutes=1)
        return {"id": str(uuid.uuid4()), "type": f"contract.{kind}", "subject": cid, "partitionkey": key,
                "sequence": str(self.sequence[cid]), "time": self.at.isoformat(), "data": data}

    def signed(self, cid: str, apprentice: str, *, opco="ATLAS", signed_on="2024-08-26", start="2024-09-01",
               end="2026-08-31", uai=UAI, siret=SIRET, idcc="1486", rncp="RNCP35185", **extra) -> dict:
        return self.event("signed", cid, apprentice, contract_id=cid,
                          apprentice={"id": apprentice, "birth_date": "2005-03-14"},
                          employer={"siret": "12345678200010", "idcc": idcc}, opco=opco,
                          cfa={"uai": uai, "siret": siret}, certification={"rncp": rncp, "level": 5},
                          signed_on=signed_on, start_date=start, planned_end_date=end, contract_type="11", **extra)

    def accepted(self, cid: str, apprentice: str, level: str = "8000.00") -> dict:
        return self.event("funding_accepted", cid, apprentice, decided_on="2024-09-10", annual_funding_level=level)

    def ruptured(self, cid: str, apprentice: str, on: str = "2025-01-15", continues: bool = True) -> dict:
        return self.event("ruptured", cid, apprentice, ruptured_on=on, reason="mutual_agreement",
                          continues_training=continues)

    def rehire(self, first: str, second: str, apprentice: str, on: str = "2025-03-10") -> list[dict]:
        """The successor signed with AKTO (another IDCC), and the rehire on the first contract."""
        return [self.signed(second, apprentice, opco="AKTO", signed_on=on, start="2025-03-17", idcc="1979",
                            previous_contract_id=first),
                self.event("rehired", first, apprentice, new_contract_id=second, signed_on=on, opco="AKTO"),
                self.accepted(second, apprentice, "7200.00")]
