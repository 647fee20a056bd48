"""Every legal check at its boundaries: the day before and the day of each limit."""
from datetime import date

import pytest

from services.contracts.domain.calendar import add_working_days, age_on, first_of_month_after_birthday
from services.contracts.domain.identifiers import siret_ok, uai_ok
from contract_events.signed import ContractTerms
from services.contracts.domain.rules import Context, References, check_contract, required_training_hours
from kernel.reference.tables import idcc_opco, remuneration_grid, smic_history

REFS = References(idcc_opco(), smic_history(), remuneration_grid())


def terms(**over) -> ContractTerms:
    body = {"apprentice": {"id": "a1", "birth_date": "2005-03-14"},
            "employer": {"siret": "12345678200010", "idcc": "1486"},
            "cfa": {"uai": "0751234J", "siret": "98765432400019"},
            "certification": {"rncp": "RNCP35185", "level": 5},
            "signed_on": "2024-09-01", "start_date": "2024-09-02", "planned_end_date": "2026-08-31",
            "contract_type": "11"}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(body.get(k), dict):
            body[k] = {**body[k], **v}
        else:
            body[k] = v
    return ContractTerms.model_validate(body)


def codes(t: ContractTerms, ctx: Context = Context()) -> set[str]:
    return {v.code for v in check_contract(t, REFS, ctx)[1]}


def test_a_valid_contract_passes_and_gets_its_opco():
    opco, violations = check_contract(terms(), REFS)
    assert violations == [] and opco == "ATLAS"


@pytest.mark.parametrize("end,ok", [("2025-03-01", True), ("2025-02-28", False)])
def test_duration_at_least_six_months(end, ok):
    # start 2024-09-02: six months end on 2025-03-01
    assert ("duration_too_short" not in codes(terms(planned_end_date=end))) == ok


@pytest.mark.parametrize("end,ok", [("2027-09-01", True), ("2027-09-02", False)])
def test_duration_at_most_three_years(end, ok):
    assert ("duration_too_long" not in codes(terms(planned_end_date=end))) == ok


def test_rqth_allows_four_years_and_derogations_lift_what_they_name():
    assert "duration_too_long" not in codes(terms(planned_end_date="2028-09-01", apprentice={"rqth": True}))
    assert "duration_too_long" in codes(terms(planned_end_date="2028-09-02", apprentice={"rqth": True}))
    assert "duration_too_short" not in codes(terms(planned_end_date="2025-01-31", derogation_codes=["21"]))
    assert "duration_too_short" not in codes(terms(planned_end_date="2025-01-31",
                                                   duration_adjustment={"kind": "reduction"}))
    assert "duration_too_long" not in codes(terms(planned_end_date="2028-01-31", derogation_codes=["22"]))
    assert "duration_too_short" not in codes(terms(planned_end_date="2025-01-31"), Context(previous_ruptured=True))


@pytest.mark.parametrize("birth,ok", [("2008-09-02", True), ("2008-09-03", False)])
def test_at_least_16_on_the_start_date(birth, ok):
    assert ("apprentice_too_young" not in codes(terms(apprentice={"birth_date": birth}))) == ok


def test_15_when_lower_secondary_is_done_and_derogation_11():
    young = {"birth_date": "2009-09-02"}
    assert "apprentice_too_young" in codes(terms(apprentice=young))
    assert "apprentice_too_young" not in codes(terms(apprentice={**young, "lower_secondary_completed": True}))
    assert "apprentice_too_young" not in codes(terms(apprentice=young, derogation_codes=["11"]))


@pytest.mark.parametrize("birth,ok", [("2009-09-02", True), ("2009-09-03", False)])
def test_at_least_15_on_the_start_date_once_lower_secondary_is_done(birth, ok):
    apprentice = {"birth_date": birth, "lower_secondary_completed": True}
    assert ("apprentice_too_young" not in codes(terms(apprentice=apprentice))) == ok


@pytest.mark.parametrize("birth,ok", [("1994-09-03", True), ("1994-09-02", False)])
def test_at_most_29_on_the_start_date(birth, ok):
    assert ("apprentice_too_old" not in codes(terms(apprentice={"birth_date": birth}))) == ok


def test_upper_age_exceptions():
    old = {"birth_date": "1990-01-01"}
    for flag in ("rqth", "high_level_athlete", "business_creation_project"):
        assert "apprentice_too_old" not in codes(terms(apprentice={**old, flag: True}))
    # a successor contract started within a year of the previous one: up to 34
    assert "apprentice_too_old" not in codes(terms(apprentice=old), Context(previous_end=date(2024, 6, 30)))
    assert "apprentice_too_old" in codes(terms(apprentice=old), Context(previous_end=date(2023, 9, 1)))
    assert "apprentice_too_old" in codes(terms(apprentice={"birth_date": "1989-09-02"}),
                                         Context(previous_end=date(2024, 6, 30)))


@pytest.mark.parametrize("birth,ok", [("1989-09-03", True), ("1989-09-02", False)])
def test_a_successor_at_most_34_on_the_start_date(birth, ok):
    ctx = Context(previous_end=date(2024, 6, 30))
    assert ("apprentice_too_old" not in codes(terms(apprentice={"birth_date": birth}), ctx)) == ok


@pytest.mark.parametrize("previous_end,ok", [(date(2023, 9, 2), True), (date(2023, 9, 1), False)])
def test_a_successor_starts_within_12_months_of_the_previous_end(previous_end, ok):
    # start 2024-09-02: the previous contract ended on 2023-09-02 at the earliest
    old = {"birth_date": "1990-01-01"}
    assert ("apprentice_too_old" not in codes(terms(apprentice=old), Context(previous_end=previous_end))) == ok


def test_leap_day_birthdays():
    assert age_on(date(2004, 2, 29), date(2021, 2, 28)) == 16
    assert age_on(date(2004, 2, 29), date(2020, 2, 28)) == 15
    assert age_on(date(2004, 2, 29), date(2020, 2, 29)) == 16
    assert age_on(date(2004, 2, 29), date(2021, 3, 1)) == 17
    assert first_of_month_after_birthday(date(2004, 2, 29), 18) == date(2022, 4, 1)
    assert first_of_month_after_birthday(date(2004, 2, 29), 20) == date(2024, 3, 1)
    assert first_of_month_after_birthday(date(2006, 12, 10), 18) == date(2025, 1, 1)


def test_identifiers():
    assert siret_ok("12345678200010") and not siret_ok("12345678200011") and not siret_ok("1234567820001")
    assert siret_ok("35600000000010")  # La Poste: digit sum a multiple of 5
    assert uai_ok("0751234J") and not uai_ok("0751234K") and not uai_ok("751234J")
    found = codes(terms(employer={"siret": "12345678200011", "idcc": "ABC"}, cfa={"uai": "0751234K"},
                        certification={"rncp": "35185"}))
    assert {"siret_invalid", "uai_invalid", "rncp_invalid", "idcc_invalid"} <= found


@pytest.mark.parametrize("birth,ok", [("2006-09-02", True), ("2006-09-03", False)])
def test_master_of_age(birth, ok):
    assert ("master_too_young" not in codes(terms(master={"birth_date": birth}))) == ok


def test_signed_after_start_and_end_before_start():
    assert "signed_after_start" in codes(terms(signed_on="2024-09-03"))
    assert "signed_after_start" not in codes(terms(signed_on="2024-09-02"))
    assert "end_not_after_start" in codes(terms(planned_end_date="2024-09-02"))


def test_training_time_is_a_quarter_of_working_time():
    t = terms(planned_end_date="2025-09-01")  # 365 days
    assert required_training_hours(t) == 402
    assert "training_time_too_low" in codes(terms(planned_end_date="2025-09-01", training_hours=401))
    assert "training_time_too_low" not in codes(terms(planned_end_date="2025-09-01", training_hours=402))


def test_remuneration_follows_age_band_from_the_month_after_the_birthday():
    # born 2006-11-10: 18 on 2024-11-10, so 43 % from 2024-12-01 in year 1
    young = {"birth_date": "2006-11-10"}
    flat = [{"year": 1, "pct_smic": "27"}, {"year": 2, "pct_smic": "51"}]
    assert "remuneration_below_minimum" in codes(terms(apprentice=young, remuneration=flat))
    stepped = [{"year": 1, "pct_smic": "27"}, {"year": 1, "pct_smic": "43", "starts_on": "2024-12-01"},
               {"year": 2, "pct_smic": "51"}]
    assert "remuneration_below_minimum" not in codes(terms(apprentice=young, remuneration=stepped))
    late = [{"year": 1, "pct_smic": "27"}, {"year": 1, "pct_smic": "43", "starts_on": "2024-12-02"},
            {"year": 2, "pct_smic": "51"}]
    assert "remuneration_below_minimum" in codes(terms(apprentice=young, remuneration=late))


def test_remuneration_message_names_the_smic_in_force():
    # 22 at the start (2024-09-02): 53 % in year 1, SMIC 1766.92 in force since 2024-01-01
    _, violations = check_contract(terms(apprentice={"birth_date": "2002-01-01"},
                                         remuneration=[{"year": 1, "pct_smic": "50"}]), REFS)
    v = next(v for v in violations if v.code == "remuneration_below_minimum")
    assert "contract year 1" in v.message
    assert v.article == "D6222-26" and "53" in v.message and "936.47 EUR" in v.message  # 53 % of 1766.92



def test_a_contract_starting_in_2026_is_measured_against_the_2026_smic():
    # 22 at the start (2026-01-05): 53 % in year 1 of the SMIC in force since 2026-01-01, 1823.03
    _, violations = check_contract(terms(apprentice={"birth_date": "2003-06-01"}, signed_on="2025-12-15",
                                         start_date="2026-01-05", planned_end_date="2027-12-31",
                                         remuneration=[{"year": 1, "pct_smic": "50"}]), REFS)
    v = next(v for v in violations if v.code == "remuneration_below_minimum")
    assert "From 2026-01-05 (contract year 1)" in v.message and "966.21 EUR" in v.message  # 53 % of 1823.03

def test_opco_must_match_the_idcc():
    assert "opco_inconsistent_with_idcc" in codes(terms(opco="AKTO"))
    assert check_contract(terms(employer={"idcc": "9998"}, opco="AKTO"), REFS)[0] == "AKTO"


def test_five_working_days_skip_sundays_and_public_holidays():
    # 2025-04-30 (Wednesday): 1 May holiday, 2 and 3 count, 4 May Sunday, then 5, 6, 7
    assert add_working_days(date(2025, 4, 30), 5) == date(2025, 5, 7)
    assert add_working_days(date(2025, 5, 5), 5) == date(2025, 5, 12)  # skips 8 May and Sunday 11
    assert add_working_days(date(2024, 9, 2), 5) == date(2024, 9, 7)   # Saturday counts
