"""Request examples shown in the OpenAPI document (and posted by the tests)."""

SIGN = {
    "apprentice": {"id": "app-2f6c1e", "birth_date": "2005-03-14"},
    "employer": {"siret": "12345678200010", "idcc": "1486", "name": "Bureau d'études Exemple"},
    "cfa": {"uai": "0751234J", "siret": "98765432400019"},
    "certification": {"rncp": "RNCP35185", "level": 5, "title": "BTS MCO"},
    "master": {"birth_date": "1980-06-01"},
    "signed_on": "2024-09-20", "start_date": "2024-09-28", "planned_end_date": "2026-08-31",
    "training_hours": 1350, "weekly_work_hours": "35", "contract_type": "11",
    "remuneration": [{"year": 1, "pct_smic": "43"}, {"year": 2, "pct_smic": "51"},
                     {"year": 2, "pct_smic": "61", "starts_on": "2026-04-01"}],
}
TRANSMISSION = {"transmitted_on": "2024-09-30", "by": "cfa", "file_complete_on": "2024-09-30"}
DECISION = {"outcome": "accepted", "decided_on": "2024-10-10", "annual_funding_level": "7000.00"}
DEPOSIT = {"deposited_on": "2024-10-12", "deposit_number": "075202410000123"}
AMENDMENT = {"effective_on": "2025-06-01", "amendment_type": "33", "changes": {"planned_end_date": "2026-12-31"}}
RUPTURE = {"ruptured_on": "2025-01-15", "notified_on": "2025-01-16", "reason": "mutual_agreement",
           "initiator": "both", "continues_training": True}
POST_RUPTURE_END = {"ended_on": "2025-03-01", "reason": "left_cfa"}
COMPLETION = {"ended_on": "2026-08-31", "diploma_obtained": True}
CANCELLATION = {"cancelled_on": "2024-09-25", "motive": "The apprentice withdrew before the start."}
STATE = {"contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11", "status": "accepted", "version": 3}
