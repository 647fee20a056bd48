"""The analyses of docs/quality.md (*Analytics*), on each side of their limits: rupture rate and
days to rupture, the 45 free days, successors within 6 months, absenteeism against planned
hours, financers without an appraisal, and the thresholds that suggest a measure (pure)."""
from datetime import date, timedelta
from decimal import Decimal

from contract_events.facts import fold_facts
from services.quality.domain import analytics as a
from tests.unit.quality.support import Contracts


def facts(*events):
    return list(fold_facts(events).values())


def ruptured_after(days_list, *, start="2024-09-01"):
    """One contract per entry of ``days_list`` starting on ``start``, ruptured that many days after
    (None: not ruptured)."""
    c, events = Contracts(), []
    for i, days in enumerate(days_list):
        events.append(c.signed(f"c{i}", start=start))
        if days is not None:
            events.append(c.ruptured(f"c{i}", (date.fromisoformat(start) + timedelta(days=days)).isoformat()))
    return facts(*events)


def test_rupture_rate_and_median_days_per_certification():
    (row,) = a.ruptures(ruptured_after([10, 100, None, None, None]), "certification")
    assert row == {"certification": "RNCP35185", "contracts": 5, "ruptures": 2, "rate": "0.400",
                   "median_days_to_rupture": 55.0, "within_45_days": 1, "after_45_days": 1,
                   "reasons": {"mutual_agreement": 2}, "rehired_within_6_months": 0}


def test_the_45_free_days_end_on_the_45th_day_after_the_start():
    (row,) = a.ruptures(ruptured_after([0, 44, 45, 46]), "cohort")
    assert (row["within_45_days"], row["after_45_days"]) == (2, 2)
    assert row["median_days_to_rupture"] == 44.5 and row["cohort"] == "2024"


def test_groups_by_employer_and_cohort_and_unknown_keys():
    c = Contracts()
    fs = facts(c.signed("a", siret="111"), c.signed("b", siret="222", start="2025-02-01"),
               c.signed("d", siret=None, rncp=None), c.ruptured("b", "2025-03-01", reason=None))
    assert [(r["employer"], r["contracts"], r["ruptures"]) for r in a.ruptures(fs, "employer")] == [
        ("111", 1, 0), ("222", 1, 1), ("unknown", 1, 0)]
    assert [r["cohort"] for r in a.ruptures(fs, "cohort")] == ["2024", "2025"]
    assert [r["certification"] for r in a.ruptures(fs, "certification")] == ["RNCP35185", "unknown"]
    assert a.ruptures(fs, "employer")[1]["reasons"] == {"unknown": 1}


def test_cancelled_contracts_count_nowhere():
    c = Contracts()
    fs = facts(c.signed("a"), c.signed("b"), c.event("cancelled", "b"))
    assert [(r["contracts"], r["rate"]) for r in a.ruptures(fs, "cohort")] == [(1, "0.000")]
    assert a.planned_hours(fs) == {"app-a": Decimal(400) * 730 / 365}


def test_a_successor_counts_when_signed_within_6_months_of_the_rupture():
    c = Contracts()
    fs = facts(c.signed("a"), c.ruptured("a", "2025-01-15"), c.event("rehired", "a", signed_on="2025-07-15"),
               c.signed("b"), c.ruptured("b", "2025-01-15"), c.event("rehired", "b", signed_on="2025-07-16"))
    assert a.ruptures(fs, "cohort")[0]["rehired_within_6_months"] == 1


def test_a_measure_is_suggested_above_20_percent_over_at_least_5_contracts():
    at_20 = a.ruptures(ruptured_after([10, None, None, None, None]), "certification")
    above_with_4 = a.ruptures(ruptured_after([10, 20, None, None]), "certification")
    above_with_5 = a.ruptures(ruptured_after([10, 20, None, None, None]), "certification")
    assert a.rupture_suggestions(at_20, "certification") == []
    assert a.rupture_suggestions(above_with_4, "certification") == []
    (s,) = a.rupture_suggestions(above_with_5, "certification")
    assert s.as_dict() == {"origin": "rupture_analysis", "about": "certification RNCP35185",
                           "reason": "rupture rate 40 % over 5 contracts"}
    assert (s.subject_kind, s.subject, s.percent, s.contracts) == ("certification", "RNCP35185", 40, 5)


def test_planned_hours_are_the_contracts_or_400_a_year_prorated():
    c = Contracts()
    fs = facts(c.signed("a", "app-1", training_hours=600), c.signed("b", "app-1", start="2025-09-01",
                                                                      end="2026-02-28"),
               c.signed("d", "app-2", start="2024-09-01", end="2025-08-31"))
    assert a.planned_hours(fs) == {"app-1": Decimal(600) + Decimal(198), "app-2": Decimal(400)}


def absences(*rows):
    return [{"apprentice_id": who, "group": group, "hours": Decimal(hours), "justified": justified}
            for who, group, hours, justified in rows]


def test_absenteeism_rate_against_planned_hours_and_its_threshold():
    result = a.absenteeism(absences(("at", "G1", "40", False), ("over", "G1", "40.5", True),
                                    ("over", None, "0", False), ("unplanned", None, "7", False)),
                           {"at": Decimal(400), "over": Decimal(400)})
    rows = {r["apprentice_id"]: r for r in result["apprentices"]}
    assert [r["apprentice_id"] for r in result["apprentices"]] == ["over", "at", "unplanned"]   # by rate
    assert (rows["at"]["rate"], rows["at"]["over_threshold"]) == ("0.100", False)
    assert (rows["over"]["rate"], rows["over"]["over_threshold"]) == ("0.101", True)
    assert rows["over"]["justified_hours"] == "40.5" and rows["over"]["unjustified_hours"] == "0.0"
    assert (rows["unplanned"]["rate"], rows["unplanned"]["planned_hours"]) == (None, None)
    assert result["groups"] == {"G1": "80.5", "none": "7"} and result["threshold"] == "0.10"
    (s,) = a.absenteeism_suggestions(result)
    assert s.as_dict() == {"origin": "absenteeism_analysis", "about": "apprentice over",
                           "reason": "absent 10 % of planned training hours"}


def test_financers_of_the_last_12_months_need_an_appraisal_of_the_last_12_months():
    c, today = Contracts(), date(2025, 7, 1)
    fs = facts(c.signed("a", opco="ATLAS", signed_on="2024-08-26", end="2026-08-31"),
               c.signed("b", opco="AKTO", signed_on="2023-08-26", start="2023-09-01", end="2024-06-30"),
               c.signed("d", opco="OCAPIAT", signed_on="2023-08-26", start="2023-09-01", end="2024-07-01"),
               c.signed("e", opco="EP", signed_on="2023-08-26", start="2023-09-01", end="2026-06-30"),
               c.ruptured("e", "2024-06-30"), c.signed("f", opco="UNIFORMATION"), c.event("cancelled", "f"))
    appraisals = [{"stakeholder": "financer", "financer": "ATLAS", "recorded_on": "2024-07-01"},
                  {"stakeholder": "financer", "financer": "OCAPIAT", "recorded_on": "2024-06-30"},
                  {"stakeholder": "company", "recorded_on": "2025-01-01"}]
    coverage = a.financer_coverage(fs, appraisals, today)
    assert coverage == {"since": "2024-07-01", "gaps": ["OCAPIAT"], "financers": [
        {"opco": "ATLAS", "last_appraisal_on": "2024-07-01", "covered": True},
        {"opco": "OCAPIAT", "last_appraisal_on": None, "covered": False}]}


def test_late_measures_and_ages():
    today = date(2025, 6, 1)
    assert a.late({"status": "open", "data": {"due_on": "2025-05-31"}}, today)
    assert not a.late({"status": "in_progress", "data": {"due_on": "2025-06-01"}}, today)
    assert not a.late({"status": "done", "data": {"due_on": "2025-01-01"}}, today)
    assert a.age_days("2025-05-01", today) == 31
