"""The CERFA FA13 as a printable form (issue 15): sections in the official order, labels from the
model, values written as on the paper form; and the HTML and PDF drawn from it."""
import copy

import pytest

from contract_events import cerfa_codes
from contract_events.cerfa import Cerfa, SignedV2
from contract_events.upcasting import v1_fields_to_v2
from services.contracts.adapters.cerfa_document import render_html, render_pdf
from services.contracts.api.examples import SIGN, SIGN_CERFA
from services.contracts.domain import cerfa_form
from services.contracts.domain.cerfa_form import build_form

CID = "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11"
TITLES = ["L'EMPLOYEUR", "L'APPRENTI(E)", "LE MAÎTRE D'APPRENTISSAGE n°1", "LE MAÎTRE D'APPRENTISSAGE n°2",
          "LE CONTRAT", "Rémunération", "LA FORMATION"]


def form(document=None, status="signed"):
    return build_form(copy.deepcopy(SIGN_CERFA if document is None else document), contract_id=CID, status=status)


def L(path):
    """The label of a box: its field's description in the model."""
    return cerfa_form.labels()[path]


def section(f, title):
    return next(s for s in f.sections if s.title == title)


def value(f, title, label, nth=0):
    found = [r.value for r in section(f, title).rows if r.label == label and not r.group]
    return found[nth]


def test_the_sections_come_in_the_official_order_with_their_titles():
    f = form()
    assert [s.title for s in f.sections] == TITLES
    assert (f.title, f.cerfa_number, f.legal_basis) == (
        "CONTRAT D'APPRENTISSAGE", "cerfa n° 10103*13", "Code du travail, art. L6221-1 et suivants")
    header = {r.label: r.value for r in f.header}
    assert header[SignedV2.model_fields["contract_id"].description] == CID
    assert header["Statut du contrat dans Parcours"] == "signé"
    assert header[L("contract.signed_on")] == "20/09/2024"


def test_every_label_is_the_models_description():
    f = form()
    descriptions = {info.description for model in _models(Cerfa) for info in model.model_fields.values()}
    fallbacks = {label for labels in cerfa_form.FALLBACK_LABELS.values() for label in labels.values()}
    for s in f.sections:
        for row in s.rows:
            assert row.label in descriptions | fallbacks, row.label
    employer = Cerfa.model_fields["employer"].annotation.model_fields
    assert value(f, "L'EMPLOYEUR", employer["siret"].description) == "12345678200010"
    # every box of the model has a French label, none falls back to the field's English name
    everything = cerfa_form.labels()
    assert everything["employer.address.postal_code"] == "Code postal"
    assert everything["contract.pay[].gross_monthly"] == "Salaire brut mensuel à l'embauche"
    assert everything["training.certification.rncp"] == "Code RNCP"      # no description: the fallback
    assert all(label != path.rsplit(".", 1)[-1] for path, label in everything.items()), everything


def _models(model, seen=None):
    seen = seen if seen is not None else set()
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        for candidate in _candidates(info.annotation):
            _models(candidate, seen)
    return seen


def _candidates(annotation):
    import typing
    from pydantic import BaseModel
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _candidates(arg)


def test_codes_are_shown_with_their_label_from_the_notices_lists():
    f = form()
    employer_type = value(f, "L'EMPLOYEUR", L("employer.employer_type"))
    assert employer_type == f"11 – {cerfa_codes.label(cerfa_codes.EMPLOYER_TYPES, '11')}"
    assert value(f, "LE CONTRAT", L("contract.type")) == \
        f"11 – {cerfa_codes.label(cerfa_codes.CONTRACT_TYPES, '11')}"
    assert value(f, "L'APPRENTI(E)", L("apprentice.nationality")) == "1 – Française"
    assert value(f, "L'APPRENTI(E)", L("apprentice.sex")) == "F – Féminin"
    assert value(f, "L'APPRENTI(E)", L("apprentice.social_scheme")) == "2 – URSSAF"
    assert value(f, "L'APPRENTI(E)", L("apprentice.last_class")) == \
        f"01 – {cerfa_codes.LAST_CLASSES['01']}"
    assert value(f, "LE MAÎTRE D'APPRENTISSAGE n°1", L("masters[].diploma_level")) == \
        f"7 – {cerfa_codes.DIPLOMA_LEVELS['7']}"


def test_every_code_list_named_exists():
    for field, names in cerfa_form.CODE_LISTS.items():
        for name in names:
            assert isinstance(getattr(cerfa_codes, name, None), dict), (field, name)


def test_a_diploma_code_of_an_older_revision_keeps_its_label():
    document = copy.deepcopy(SIGN_CERFA)
    document["apprentice"]["highest_diploma"] = "74"
    assert value(form(document), "L'APPRENTI(E)", L("apprentice.highest_diploma")) == \
        f"74 – {cerfa_codes.RETIRED_DIPLOMAS['74']}"


def test_an_unknown_code_is_shown_alone():
    document = copy.deepcopy(SIGN_CERFA)
    document["contract"]["type"] = "97"
    assert value(form(document), "LE CONTRAT", L("contract.type")) == "97"


def test_dates_booleans_and_money_are_written_the_french_way():
    f = form()
    assert value(f, "L'APPRENTI(E)", L("apprentice.birth_date")) == "14/03/2005"
    assert value(f, "LE CONTRAT", L("contract.start_date")) == "28/09/2024"
    assert value(f, "LE MAÎTRE D'APPRENTISSAGE n°1", L("masters[].diploma_in_field")) == "Oui"
    assert value(f, "LE CONTRAT", L("contract.dangerous_machines")) == "Non"
    assert value(f, "LA FORMATION", L("training.company_cfa")) == "Non"
    # a yes/no box the CERFA left out reads as the model's default, Non
    assert value(f, "L'APPRENTI(E)", L("apprentice.rqth")) == "Non"
    assert value(f, "LE CONTRAT", L("contract.benefits_in_kind.food_per_meal")) == "4,15\u00a0€"
    pay = section(f, "Rémunération").table
    assert pay.columns == [L(f"contract.pay[].{name}").split(" (")[0]
                           for name in ("year", "starts_on", "ends_on", "pct", "base", "gross_monthly")]
    assert pay.columns[1:3] == ["Du", "Au"]
    assert pay.lines[0] == ["1", "28/09/2024", "27/09/2025", "43 %", "SMIC", "759,78\u00a0€"]
    assert pay.lines[2][-1] == "1\u202f112,05\u00a0€"
    assert cerfa_form.number("12.5") == "12,5" and cerfa_form.euros("7000") == "7\u202f000,00\u00a0€"


def test_empty_boxes_stay_blank():
    f = form()
    assert value(f, "L'APPRENTI(E)", L("apprentice.usage_name")) == ""
    assert all(r.value == "" for r in section(f, "LE MAÎTRE D'APPRENTISSAGE n°2").rows)
    assert value(f, "LE CONTRAT", L("contract.amendment_effective_on")) == ""


def test_an_upcast_version_1_contract_renders_with_blanks():
    document = v1_fields_to_v2(copy.deepcopy(SIGN))
    f = build_form(document, contract_id=CID, status="accepted")
    assert [s.title for s in f.sections] == TITLES
    assert value(f, "L'EMPLOYEUR", L("employer.name")) == "Bureau d'études Exemple"
    assert value(f, "L'EMPLOYEUR", L("employer.naf")) == ""
    assert value(f, "L'APPRENTI(E)", L("apprentice.birth_name")) == ""
    assert value(f, "L'APPRENTI(E)", L("apprentice.birth_date")) == "14/03/2005"
    assert value(f, "LE MAÎTRE D'APPRENTISSAGE n°1", L("apprentice.birth_date")) == "01/06/1980"
    assert value(f, "LE CONTRAT", L("contract.weekly_hours")) == "35"
    assert [line[3] for line in section(f, "Rémunération").table.lines] == ["43 %", "51 %", "61 %"]
    assert {r.label: r.value for r in f.header}["Statut du contrat dans Parcours"] == "pris en charge par l'OPCO"
    html = render_html(f)
    assert "LA FORMATION" in html
    assert render_pdf(f).startswith(b"%PDF")


def test_nothing_at_all_still_draws_the_blank_form():
    f = build_form({}, contract_id=CID)
    assert [s.title for s in f.sections] == TITLES
    assert render_pdf(f).startswith(b"%PDF")


def test_the_html_page_escapes_every_value_and_is_french():
    document = copy.deepcopy(SIGN_CERFA)
    document["apprentice"]["birth_name"] = "<script>alert('x')</script>"
    document["employer"]["name"] = "Dupont & Fils \"SARL\""
    html = render_html(form(document))
    assert html.startswith("<!doctype html>") and '<html lang="fr">' in html
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Dupont &amp; Fils &#34;SARL&#34;" in html
    assert "@media print" in html and "size:A4" in html
    for title in TITLES + ["CONTRAT D'APPRENTISSAGE", "cerfa n° 10103*13"]:
        assert title.replace("'", "&#39;") in html or title in html
    assert "<link" not in html and "src=" not in html     # self-contained


@pytest.mark.parametrize("unicode_font", [True, False])
def test_the_pdf_is_a4_with_its_title_whatever_the_font(monkeypatch, tmp_path, unicode_font):
    from services.contracts.adapters import cerfa_document
    if not unicode_font:   # no DejaVu on this machine: the core font, in windows-1252
        monkeypatch.setattr(cerfa_document, "DEJAVU", tmp_path / "absent.ttf")
    document = copy.deepcopy(SIGN_CERFA)
    document["employer"]["name"] = "Cœur d’Atelier"          # œ and ’: beyond latin-1
    document["apprentice"]["first_names"] = "Zoë\u202fÅsa"
    pdf = render_pdf(form(document))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf or b"/MediaBox[0 0 595.28 841.89]" in pdf
    assert CID.encode() in pdf                               # the keywords name the contract
    assert b"/Title" in pdf
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2   # the form runs over pages


def test_a_long_value_wraps_and_breaks_pages_without_error():
    document = copy.deepcopy(SIGN_CERFA)
    document["employer"]["pension_fund"] = "Caisse " * 30
    document["contract"]["pay"] = document["contract"]["pay"] * 4
    assert render_pdf(form(document)).startswith(b"%PDF")
