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
SIGN_CERFA = {   # the README's example: the suite signs it (tests/e2e/test_readme.py)
    "employer": {
        "name": "Bureau d'études Exemple", "siret": "12345678200010",
        "address": {"number": "12", "street": "rue des Lilas", "postal_code": "75011", "town": "Paris"},
        "contact": {"phone": "01 44 55 66 77", "email": "rh@exemple.fr"},
        "employer_type": "11", "specific_employer": "0", "naf": "7112B", "headcount": 42, "idcc": "1486",
        "pension_fund": "AG2R La Mondiale"},
    "apprentice": {
        "birth_name": "Martin", "first_names": "Léa", "nir": "205037505612346", "birth_date": "2005-03-14",
        "sex": "F", "birth_department": "75", "birth_town": "Paris", "nationality": "1", "social_scheme": "2",
        "address": {"number": "3", "street": "avenue Jean Jaurès", "postal_code": "93100", "town": "Montreuil"},
        "contact": {"phone": "06 12 34 56 78", "email": "lea.martin@exemple.fr"},
        "situation_before": "1", "last_diploma_prepared": "41", "last_class": "01", "highest_diploma": "41"},
    "masters": [{"birth_name": "Durand", "first_names": "Paul", "birth_date": "1980-06-01",
                 "email": "paul.durand@exemple.fr", "job": "Ingénieur d'études", "highest_diploma": "Diplôme d'ingénieur",
                 "diploma_level": 7, "diploma_in_field": True, "related_experience_years": "12",
                 "meets_requirements": True}],
    "contract": {
        "type": "11", "signed_on": "2024-09-20", "start_date": "2024-09-28",
        "practical_training_start": "2024-09-28", "planned_end_date": "2026-08-31",
        "weekly_hours": 35, "weekly_minutes": 0, "dangerous_machines": False,
        "pay": [{"year": 1, "starts_on": "2024-09-28", "ends_on": "2025-09-27", "pct": "43", "base": "SMIC",
                 "gross_monthly": "759.78"},
                {"year": 2, "starts_on": "2025-09-28", "ends_on": "2026-03-31", "pct": "51", "base": "SMIC",
                 "gross_monthly": "918.92"},
                {"year": 2, "starts_on": "2026-04-01", "ends_on": "2026-08-31", "pct": "61", "base": "SMIC",
                 "gross_monthly": "1112.05"}],
        "benefits_in_kind": {"food_per_meal": "4.15"}},
    "training": {
        "company_cfa": False,
        "cfa": {"name": "CFA Exemple", "uai": "0751234J", "siret": "98765432400019",
                "address": {"street": "boulevard de la Villette", "number": "80", "postal_code": "75019",
                            "town": "Paris"}},
        "certification": {"rncp": "RNCP35185", "diploma_code": "32031213", "level": 5,
                          "title": "BTS Management commercial opérationnel"},
        "cycle_start": "2024-09-16", "exams_end": "2026-06-30", "hours": 1350, "remote_hours": 100},
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
