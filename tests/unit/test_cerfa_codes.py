"""The CERFA FA13 code lists (contract_events.cerfa_codes) and their ``label`` helper."""
from __future__ import annotations

import pytest

from contract_events import cerfa_codes
from contract_events.cerfa_codes import (
    CONTRACT_TYPES, DEROGATIONS, DIPLOMA_LEVELS, DIPLOMAS, EMPLOYER_TYPES, LAST_CLASSES, NATIONALITIES,
    PAY_BASES, PUBLIC_EMPLOYER_TYPES, RETIRED_DIPLOMAS, SEXES, SITUATIONS_BEFORE, SOCIAL_SCHEMES,
    SPECIFIC_EMPLOYERS, label,
)

LISTS = {
    "EMPLOYER_TYPES": EMPLOYER_TYPES, "SPECIFIC_EMPLOYERS": SPECIFIC_EMPLOYERS, "CONTRACT_TYPES": CONTRACT_TYPES,
    "DEROGATIONS": DEROGATIONS, "SITUATIONS_BEFORE": SITUATIONS_BEFORE, "DIPLOMAS": DIPLOMAS,
    "LAST_CLASSES": LAST_CLASSES, "NATIONALITIES": NATIONALITIES, "SOCIAL_SCHEMES": SOCIAL_SCHEMES,
    "SEXES": SEXES, "DIPLOMA_LEVELS": DIPLOMA_LEVELS, "PAY_BASES": PAY_BASES, "RETIRED_DIPLOMAS": RETIRED_DIPLOMAS,
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_maps_string_codes_to_non_empty_labels(name):
    codes = LISTS[name]
    assert codes
    for code, text in codes.items():
        assert isinstance(code, str) and code == code.strip() and code, (name, code)
        assert isinstance(text, str) and text.strip() == text and text, (name, code)


def test_employer_types():
    assert set(EMPLOYER_TYPES) == {str(c) for c in [*range(11, 17), *range(21, 31)]}
    assert "répertoire des métiers" in EMPLOYER_TYPES["11"]
    assert EMPLOYER_TYPES["15"] == "Association"
    assert EMPLOYER_TYPES["22"] == "Commune"


def test_public_employer_types_are_the_2x_codes_and_the_epic():
    assert isinstance(PUBLIC_EMPLOYER_TYPES, frozenset)
    assert PUBLIC_EMPLOYER_TYPES <= set(EMPLOYER_TYPES)
    assert all(code.startswith("2") for code in PUBLIC_EMPLOYER_TYPES - {"30"})
    assert PUBLIC_EMPLOYER_TYPES == {code for code in EMPLOYER_TYPES if code >= "21"}
    assert "industriel et commercial" in EMPLOYER_TYPES["30"]
    assert not {"11", "12", "13", "14", "15", "16"} & PUBLIC_EMPLOYER_TYPES


def test_specific_employers():
    assert set(SPECIFIC_EMPLOYERS) == {"0", "1", "2", "3", "4"}
    assert SPECIFIC_EMPLOYERS["1"] == "Entreprise de travail temporaire"
    assert SPECIFIC_EMPLOYERS["3"] == "Employeur saisonnier"
    assert SPECIFIC_EMPLOYERS["0"] == "Aucun de ces cas"


def test_contract_types():
    assert list(CONTRACT_TYPES) == ["11", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "38"]
    assert CONTRACT_TYPES["11"].startswith("Premier contrat")
    assert "rompu" in CONTRACT_TYPES["23"]
    assert "formation théorique" in CONTRACT_TYPES["38"]


def test_derogations():
    assert list(DEROGATIONS) == ["11", "12", "21", "22", "50", "60"]
    assert "16 ans" in DEROGATIONS["11"] and "Âge" in DEROGATIONS["11"]
    assert "29 ans" in DEROGATIONS["12"]
    assert DEROGATIONS["50"] == "Cumul de dérogations"


def test_situations_before_and_last_classes():
    assert set(SITUATIONS_BEFORE) == {str(c) for c in range(1, 13)}
    assert SITUATIONS_BEFORE["1"] == "Scolaire"
    assert SITUATIONS_BEFORE["4"] == "Contrat d'apprentissage"
    assert list(LAST_CLASSES) == ["01", "11", "12", "21", "22", "31", "32", "40", "41", "42"]
    assert "obtenu le diplôme" in LAST_CLASSES["01"]


def test_diplomas():
    assert len(DIPLOMAS) == 24
    assert DIPLOMAS["80"] == "Doctorat"
    assert DIPLOMAS["33"] == "CAP"
    assert DIPLOMAS["54"].startswith("Brevet de technicien supérieur")
    assert "BUT" in DIPLOMAS["64"]
    assert DIPLOMAS["13"] == "Aucun diplôme ni titre professionnel"
    assert not set(RETIRED_DIPLOMAS) & set(DIPLOMAS)


def test_small_lists():
    assert NATIONALITIES == {"1": "Française", "2": "Union Européenne", "3": "Étranger hors Union Européenne"}
    assert SOCIAL_SCHEMES == {"1": "MSA", "2": "URSSAF"}
    assert SEXES == {"M": "Masculin", "F": "Féminin"}
    assert list(DIPLOMA_LEVELS) == ["3", "4", "5", "6", "7", "8"]
    assert DIPLOMA_LEVELS["4"] == "Baccalauréat"
    assert DIPLOMA_LEVELS["8"].startswith("Doctorat")
    assert PAY_BASES == {"SMIC": "Salaire minimum de croissance", "SMC": "Salaire minimum conventionnel"}


def test_label():
    assert label(CONTRACT_TYPES, "11") == CONTRACT_TYPES["11"]
    assert label(SEXES, "F") == "Féminin"
    assert label(DEROGATIONS, "99") == "99"
    assert label(LAST_CLASSES, "1") == "1"       # the form writes "01"
    assert label(NATIONALITIES, None) == ""
    assert label({}, "x") == "x"
    assert cerfa_codes.label is label
