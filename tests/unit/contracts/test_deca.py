"""DECA reconciliation, pure (services/contracts/domain/deca.py) and through its handler on the
in-memory unit of work: every disagreement code, the reading of an extract (JSON pages, CSV,
coded errors), the status mappings (exchange_statuses.py), tenancy, the export's shape."""
from __future__ import annotations

import json
from datetime import date

import pytest

from kernel.errors import Forbidden
from services.contracts.application.deca_exchange import export_deca, reconcile_deca
from services.contracts.domain import exchange_statuses as st
from services.contracts.domain.deca import (CODES, MAX_CONTRACTS, DecaContract, DecaExtract, DecaExtractError,
                                            parse_csv, parse_extract, parse_json, reconcile, report_csv,
                                            report_json)
from tests.unit.contracts.fakes import FakeUnitOfWork
from services.contracts.application.commands import COMMANDS, run_command
from tests.unit.contracts.given import AKTO, ATLAS, CFA, OPS, body, contract, step

SIRET = "12345678200010"       # the employer of given.terms()
START = "2024-09-28"


def page(*contrats, number=1, total_pages=1, total=None):
    return {"metadonnees": {"page": number, "totalPages": total_pages,
                            "totalElements": len(contrats) if total is None else total},
            "contrats": list(contrats)}


def deca(no, statut="", rupture=None, avenant=None, siret=SIRET, start=START, idcc="1486"):
    c = {"detailsContrat": {"noContrat": no, "statut": statut, "noAvenant": avenant, "dateDebutContrat": start,
                            "dateFinContrat": "2025-10-03"},
         "employeur": {"siret": siret, "codeIdcc": idcc}}
    if rupture:
        c["rupture"] = {"dateEffetRupture": rupture}
    return c


async def deposited(uow, number, *more, opco=ATLAS, **over):
    cid = await contract(uow, "transmission", **over)
    await run_command(uow, opco, cid, COMMANDS["decision"], body("decision"))
    await run_command(uow, opco, cid, COMMANDS["deposit"], body("deposit", deposit_number=number))
    for command in more:
        await step(uow, cid, command)
    return cid


async def states(uow):
    return [await uow.contracts.load(cid) for cid in sorted(uow.tables.streams)]


def codes(report):
    return [(c.contract_id is not None, c.no_contrat, [d.code for d in c.disagreements]) for c in report.contracts]


@pytest.fixture
def uow():
    return FakeUnitOfWork()


def app(n: int) -> dict:
    return {"id": f"app-{n}", "birth_date": "2005-03-14"}


# ---------------------------------------------------------------- every code

async def test_a_contract_deca_and_the_log_agree_on_gives_nothing(uow):
    await deposited(uow, "N1", apprentice=app(1))
    report = reconcile(parse_json(page(deca("N1"))), await states(uow))
    assert report.contracts == () and (report.in_extract, report.compared, report.matched) == (1, 1, 1)


async def test_unknown_to_parcours(uow):
    await deposited(uow, "N1", apprentice=app(1))
    report = reconcile(parse_json(page(deca("N1"), deca("N9", siret="99999999900011"))), await states(uow))
    assert codes(report) == [(False, "N9", ["unknown_to_parcours"])]
    assert report.contracts[0].disagreements[0].deca == "N9"


async def test_rupture_not_declared_by_statut_or_by_rupture_date(uow):
    await deposited(uow, "N1", apprentice=app(1))
    await deposited(uow, "N2", apprentice=app(2), start_date="2024-10-01")
    extract = page(deca("N1", statut="Rompu"), deca("N2", rupture="2025-02-01", start="2024-10-01"))
    report = reconcile(parse_json(extract), await states(uow))
    assert codes(report) == [(True, "N1", ["rupture_not_declared"]), (True, "N2", ["rupture_not_declared"])]
    assert report.contracts[1].disagreements[0].deca == "2025-02-01"
    assert report.contracts[1].disagreements[0].parcours == "deposited"


async def test_rupture_date_differs(uow):
    await deposited(uow, "N1", "rupture", apprentice=app(1))      # ruptured 2025-01-15
    same = reconcile(parse_json(page(deca("N1", "Rompu", "2025-01-15"))), await states(uow))
    other = reconcile(parse_json(page(deca("N1", "Rompu", "2025-01-31"))), await states(uow))
    assert same.contracts == ()
    assert codes(other) == [(True, "N1", ["rupture_date_differs"])]
    d = other.contracts[0].disagreements[0]
    assert (d.parcours, d.deca) == ("2025-01-15", "2025-01-31")


@pytest.mark.parametrize("statut", ["Annulé", "Supprimé"])
async def test_cancelled_in_deca(uow, statut):
    await deposited(uow, "N1", apprentice=app(1))
    report = reconcile(parse_json(page(deca("N1", statut))), await states(uow))
    assert codes(report) == [(True, "N1", ["cancelled_in_deca"])]
    assert report.contracts[0].disagreements[0].deca == statut


async def test_deposit_number_differs_matched_by_employer_and_start_date(uow):
    cid = await deposited(uow, "OURS-1", apprentice=app(1))
    report = reconcile(parse_json(page(deca("THEIRS-1"))), await states(uow))
    assert codes(report) == [(True, "THEIRS-1", ["deposit_number_differs"])]
    c = report.contracts[0]
    assert (c.contract_id, c.deposit_number) == (cid, "OURS-1")
    assert (c.disagreements[0].parcours, c.disagreements[0].deca) == ("OURS-1", "THEIRS-1")
    assert report.matched == 1        # matched: not also not_in_deca


async def test_a_contract_accepted_but_never_deposited_here_is_found_by_employer_and_date(uow):
    cid = await contract(uow, "transmission", "decision", apprentice=app(1))
    report = reconcile(parse_json(page(deca("N7", "Rompu"))), await states(uow))
    assert codes(report) == [(True, "N7", ["deposit_number_differs", "rupture_not_declared"])]
    assert report.contracts[0].contract_id == cid and report.contracts[0].disagreements[0].parcours is None


async def test_two_candidates_by_employer_and_date_are_not_guessed(uow):
    await deposited(uow, "A", apprentice=app(1))
    await deposited(uow, "B", apprentice=app(2))
    report = reconcile(parse_json(page(deca("C"))), await states(uow), complete=False)
    assert codes(report) == [(False, "C", ["unknown_to_parcours"])]


async def test_idcc_differs_leading_zeros_aside(uow):
    await deposited(uow, "N1", apprentice=app(1))
    assert reconcile(parse_json(page(deca("N1", idcc="01486"))), await states(uow)).contracts == ()
    report = reconcile(parse_json(page(deca("N1", idcc="3043"))), await states(uow))
    assert codes(report) == [(True, "N1", ["idcc_differs"])]
    assert (report.contracts[0].disagreements[0].parcours, report.contracts[0].disagreements[0].deca) == ("1486", "3043")


async def test_amendment_missing(uow):
    await deposited(uow, "N1", "amendments", apprentice=app(1))     # one avenant recorded
    assert reconcile(parse_json(page(deca("N1", avenant="1"))), await states(uow)).contracts == ()
    report = reconcile(parse_json(page(deca("N1", avenant="02"))), await states(uow))
    assert codes(report) == [(True, "N1", ["amendment_missing"])]
    assert (report.contracts[0].disagreements[0].parcours, report.contracts[0].disagreements[0].deca) == ("1", "2")


async def test_not_in_deca_only_on_an_extract_read_as_complete(uow):
    await deposited(uow, "N1", apprentice=app(1))
    cid = await deposited(uow, "N2", apprentice=app(2), start_date="2024-10-01")
    await contract(uow, "transmission", apprentice=app(3), start_date="2024-11-04")   # never deposited
    whole = reconcile(parse_json(page(deca("N1"))), await states(uow))
    assert codes(whole) == [(True, None, ["not_in_deca"])] and whole.contracts[0].contract_id == cid
    first_of_two = page(deca("N1"), number=1, total_pages=2, total=2)
    assert reconcile(parse_json(first_of_two), await states(uow)).contracts == ()
    assert codes(reconcile(parse_json(first_of_two), await states(uow), complete=True)) == codes(whole)
    second = page(deca("N2", start="2024-10-01"), number=2, total_pages=2, total=2)
    assert reconcile(parse_json([first_of_two, second]), await states(uow)).contracts == ()


async def test_several_disagreements_of_one_contract_in_the_order_of_the_codes(uow):
    await deposited(uow, "N1", apprentice=app(1))
    report = reconcile(parse_json(page(deca("N1", "Annulé", "2025-01-10", avenant="3", idcc="3043"))),
                       await states(uow))
    assert codes(report) == [(True, "N1", ["cancelled_in_deca", "rupture_not_declared", "idcc_differs",
                                           "amendment_missing"])]


async def test_the_report_is_deterministic_whatever_the_order_of_the_extract(uow):
    for n in range(5):
        await deposited(uow, f"N{n}", apprentice=app(n), start_date=f"2024-10-0{n + 1}")
    items = [deca(f"N{n}", "Rompu", start=f"2024-10-0{n + 1}") for n in range(5)] + [deca("X", siret="1")]
    a = reconcile(parse_json(page(*items)), await states(uow))
    b = reconcile(parse_json(page(*reversed(items))), list(reversed(await states(uow))))
    assert a == b and [c.no_contrat for c in a.contracts] == ["N0", "N1", "N2", "N3", "N4", "X"]
    assert json.dumps(report_json(a)) == json.dumps(report_json(b)) and report_csv(a) == report_csv(b)


def test_every_code_is_listed_once():
    assert len(set(CODES)) == len(CODES) == 8


# ---------------------------------------------------------------- reading an extract

def test_a_csv_extract_reads_like_the_json_one():
    text = ("detailsContrat.noContrat;detailsContrat.statut;detailsContrat.noAvenant;"
            "detailsContrat.dateDebutContrat;rupture.dateEffetRupture;employeur.siret;employeur.codeIdcc;alternant.nom\n"
            "N1;Rompu;1;28/09/2024;2025-01-15;12345678200010;1486;ignored\n"
            "N2;;;2024-10-01T00:00:00;;12345678200010;1486;ignored\n\n")
    extract = parse_csv(text)
    assert extract.contracts == (
        DecaContract("N1", "Rompu", 1, None, date(2024, 9, 28), None, date(2025, 1, 15), SIRET, "1486"),
        DecaContract("N2", None, None, None, date(2024, 10, 1), None, None, SIRET, "1486"))
    assert extract.looks_complete
    assert parse_extract(text.encode()) == extract                      # sniffed as CSV
    assert parse_extract(json.dumps(page(deca("N1"))).encode()).contracts[0].no_contrat == "N1"


def test_a_bare_list_of_contracts_is_an_extract():
    assert [c.no_contrat for c in parse_json([deca("A"), deca("B")]).contracts] == ["A", "B"]


@pytest.mark.parametrize("payload, field, code", [
    ("{not json", "body", "not_json"),
    ('{"contrats": "x"}', "body.contrats", "not_an_extract"),
    ('{"metadonnees": {"page": 1}}', "body.contrats", "not_an_extract"),
    ("[]", "body", "not_an_extract"),
    ('{"contrats": [{"detailsContrat": {"statut": "Rompu"}}]}', "body.contrats[0].detailsContrat.noContrat",
     "missing_no_contrat"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "N", "statut": "Résilié"}}]}',
     "body.contrats[0].detailsContrat.statut", "invalid_statut"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "N", "dateDebutContrat": "2024-02-30"}}]}',
     "body.contrats[0].detailsContrat.dateDebutContrat", "invalid_date"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "N", "noAvenant": "bis"}}]}',
     "body.contrats[0].detailsContrat.noAvenant", "invalid_no_avenant"),
    ('{"contrats": [{"detailsContrat": {"noContrat": ["N"]}}]}', "body.contrats[0].detailsContrat.noContrat",
     "wrong_type"),
    ('{"contrats": [{"detailsContrat": "N"}]}', "body.contrats[0].detailsContrat", "wrong_type"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "N\\u0000"}}]}', "body.contrats[0].detailsContrat.noContrat",
     "control_character"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "' + "9" * 101 + '"}}]}',
     "body.contrats[0].detailsContrat.noContrat", "value_too_long"),
    ('{"metadonnees": {"page": "1"}, "contrats": []}', "body.metadonnees.page", "invalid_metadonnees"),
    ('{"contrats": [{"detailsContrat": {"noContrat": "N"}}, {"detailsContrat": {"noContrat": "N"}}]}',
     "noContrat N", "duplicate_no_contrat"),
    ("detailsContrat.statut\nRompu\n", "header", "missing_column"),
    ("detailsContrat.noContrat,detailsContrat.statut\nN1\n", "line 2", "wrong_column_count"),
    (b"\xff\xfe", "body", "not_utf8"),
])
def test_a_malformed_extract_is_refused_with_a_coded_error(payload, field, code):
    with pytest.raises(DecaExtractError) as caught:
        parse_extract(payload if isinstance(payload, bytes) else payload.encode())
    assert caught.value.code == "invalid-deca-extract"
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in caught.value.errors]


def test_every_problem_is_listed_at_once_up_to_a_bound():
    bad = {"contrats": [{"detailsContrat": {"noContrat": f"N{i}", "statut": "?"}} for i in range(80)]}
    with pytest.raises(DecaExtractError) as caught:
        parse_json(bad)
    assert len(caught.value.errors) == 50


def test_an_extract_past_its_bounds_is_refused():
    with pytest.raises(DecaExtractError) as caught:
        parse_json({"contrats": [{}] * (MAX_CONTRACTS + 1)})
    assert caught.value.errors[0]["code"] == "too_many_contracts"
    with pytest.raises(DecaExtractError) as caught:
        parse_extract(b" " * 20_000_001)
    assert caught.value.errors[0]["code"] == "extract_too_large"


def test_an_extract_missing_a_page_or_a_contract_does_not_look_complete():
    assert not DecaExtract((), (1,), 2, None).looks_complete
    assert not DecaExtract((DecaContract("A"),), (1,), 1, 2).looks_complete
    assert DecaExtract((DecaContract("A"),), (1,), 1, 1).looks_complete


# ---------------------------------------------------------------- the statuses

def test_every_lifecycle_status_is_mapped_once_with_its_source():
    assert [m.lifecycle for m in st.MAPPINGS] == list(st.LIFECYCLE)
    assert all(m.source and m.note for m in st.MAPPINGS)
    assert {m.deca for m in st.MAPPINGS} <= {None, *st.DECA_STATUSES}
    assert {m.agecap for m in st.MAPPINGS} <= {None, *st.AGECAP_STATUSES}
    assert set(st.AGECAP_MEANS) == set(st.AGECAP_STATUSES) and set(st.DECA_MEANS) == {None, *st.DECA_STATUSES}


def test_what_deca_and_agecap_show_for_our_statuses():
    assert [st.deca_status(s) for s in ("deposited", "ruptured", "completed", "cancelled")] == \
        [None, "Rompu", None, "Annulé"]
    assert not st.in_deca("accepted", deposited=False) and st.in_deca("ruptured", deposited=True)
    assert st.deca_agrees("deposited", "Corrigé") and st.deca_agrees("cancelled", "Supprimé")
    assert not st.deca_agrees("deposited", "Rompu")
    assert [st.agecap_status(s) for s in ("signed", "transmitted", "accepted", "refused", "deposited")] == \
        [None, "Transmis au gestionnaire", "En cours d'instruction", "Non déposable", "Déposé"]
    assert st.agecap_status("transmitted", instruction_extended=True) == "En cours d'instruction"
    assert st.agecap_status("deposited", amendments=1, needs_deposit=True) == "Transmis au gestionnaire"


# ---------------------------------------------------------------- the handlers: tenancy, export

async def test_an_opco_reconciles_only_the_contracts_it_funds_and_a_cfa_is_refused(uow):
    await deposited(uow, "N1", apprentice=app(1))                                         # ATLAS (IDCC 1486)
    await deposited(uow, "N2", apprentice=app(2), start_date="2024-10-01",
                    employer={"siret": "73282932000009", "idcc": "573"}, opco=AKTO)
    body = json.dumps(page(deca("N1", "Rompu"))).encode()
    atlas = await reconcile_deca(uow, ATLAS, body)
    assert codes(atlas) == [(True, "N1", ["rupture_not_declared"])]
    ops = await reconcile_deca(uow, OPS, body)
    assert codes(ops) == [(True, "N1", ["rupture_not_declared"]), (True, None, ["not_in_deca"])]
    assert codes(await reconcile_deca(uow, OPS, body, opco="ATLAS")) == codes(atlas)
    akto = await reconcile_deca(uow, AKTO, body)      # ATLAS's contract is not AKTO's to see
    assert codes(akto) == [(False, "N1", ["unknown_to_parcours"]), (True, None, ["not_in_deca"])]
    with pytest.raises(Forbidden):
        await reconcile_deca(uow, CFA, b"not even an extract")


async def test_the_export_is_in_decas_shape_and_reconciles_with_nothing_to_say(uow):
    await deposited(uow, "N1", "rupture", apprentice=app(1))
    await deposited(uow, "N2", "amendments", apprentice=app(2), start_date="2024-10-01")
    await contract(uow, "transmission", apprentice=app(3))
    first = await export_deca(uow, OPS, 1, 1)
    assert first["metadonnees"] == {"page": 1, "totalPages": 2, "totalElements": 2}
    assert first["contrats"] == [{
        "detailsContrat": {"noContrat": "N1", "statut": "Rompu", "noAvenant": None, "dateDebutContrat": START,
                           "dateFinContrat": "2025-10-03"},
        "employeur": {"siret": SIRET, "codeIdcc": "1486"},
        "organismeFormationResponsable": {"uaiCfa": "0751234J", "siret": "98765432400019"},
        "rupture": {"dateEffetRupture": "2025-01-15"}}]
    second = await export_deca(uow, OPS, 2, 1)
    assert second["contrats"][0]["detailsContrat"]["noAvenant"] == "1"
    assert "alternant" not in json.dumps([first, second])
    report = await reconcile_deca(uow, ATLAS, json.dumps([first, second]).encode())
    assert report.contracts == () and report.matched == 2
    assert (await export_deca(uow, AKTO, 1, 10))["contrats"] == []
    with pytest.raises(Forbidden):
        await export_deca(uow, CFA, 1, 10)
