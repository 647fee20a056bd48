"""The generated history (`parcours ops generate-history`, the demo contracts): deterministic, and
every signature a whole CERFA the contracts service would accept, every avenant a merge patch
that keeps it so."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from contract_events.cerfa import Cerfa, SignedV2, missing_fields
from contract_events.upcasting import merge_patch
from kernel.reference.tables import idcc_opco
from operations import cerfa_samples as samples
from operations.history_file import read, write
from operations.history_generator import CFAS, OPCOS, generate
from services.contracts.domain import nir as nirs
from services.contracts.domain.calendar import age_on
from services.contracts.domain.identifiers import siret_ok, uai_ok
from services.contracts.domain.rules import Context, Occupied, check_contract

try:
    from services.contracts.application.sign import references
except ImportError:   # the service's module not importable yet (contract_events.cerfa_codes): the same tables
    from kernel.reference.tables import master_branch_conditions, remuneration_grid, smic_history
    from services.contracts.domain.rules import References

    def references() -> References:
        return References(idcc_opco(), smic_history(), remuneration_grid(), master_branch_conditions())

CONTRACTS, SEED = 400, 11


def _history(contracts: int = CONTRACTS, seed: int = SEED):
    """(signatures by contract id, [(contract id, amendment data)], ruptures by contract id)."""
    signed, amended, ruptured = {}, [], {}
    for append in generate(contracts, seed):
        for stream, _, events in append.streams:
            for kind, data in events:
                if kind == "contract.signed":
                    signed[stream] = data
                elif kind == "contract.amended":
                    amended.append((stream, data))
                elif kind == "contract.ruptured":
                    ruptured[stream] = date.fromisoformat(data["ruptured_on"])
    return signed, amended, ruptured


@pytest.fixture(scope="module")
def history():
    return _history()


def _check(doc: dict, ctx: Context):
    cerfa = Cerfa.model_validate({k: v for k, v in doc.items() if k != "contract_id"})
    return check_contract(cerfa, references(), ctx)


def _context(doc: dict, signed: dict, ruptured: dict) -> Context:
    """The context the service gives a signature: for a successor, the contract it follows."""
    previous = doc["contract"].get("previous_contract_id")
    if previous is None:
        return Context(full_cerfa=True)
    before = signed[previous]["contract"]
    return Context(previous_end=ruptured[previous], previous_ruptured=True, full_cerfa=True,
                   occupied=(Occupied(previous, date.fromisoformat(before["start_date"]), ruptured[previous]),))


def test_the_same_seed_writes_the_same_file_and_another_seed_another(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert write(a, 120, seed=3) == write(b, 120, seed=3)
    write(c, 120, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    versions = {(e.type, e.schema_version) for chunk in read(a) for e in chunk}
    assert ("contract.signed", 2) in versions and ("contract.amended", 2) in versions


def test_every_signature_is_a_whole_cerfa_the_service_accepts(history):
    signed, _, ruptured = history
    assert len(signed) == CONTRACTS
    for cid, doc in signed.items():
        SignedV2.model_validate(doc)
        assert doc["contract_id"] == cid and doc["apprentice"]["id"].startswith("app-")
        assert missing_fields(doc) == [], cid
        opco, violations = _check(doc, _context(doc, signed, ruptured))
        assert violations == [], (cid, violations)
        assert opco == doc["opco"] == idcc_opco()[doc["employer"]["idcc"]]


def test_identifiers_are_valid_and_consistent(history):
    signed, _, _ = history
    for doc in signed.values():
        a = doc["apprentice"]
        parsed = nirs.parse(a["nir"])
        assert parsed is not None and parsed.key == parsed.expected_key, a["nir"]
        assert nirs.inconsistencies(parsed, date.fromisoformat(a["birth_date"]), a["sex"]) == []
        assert parsed.department == a["birth_department"]
        assert siret_ok(doc["employer"]["siret"]) and siret_ok(doc["training"]["cfa"]["siret"])
        assert doc["training"]["cfa"]["uai"] in CFAS and uai_ok(doc["training"]["cfa"]["uai"])
        assert (doc["employer"]["idcc"], doc["opco"]) in OPCOS
        for m in doc["masters"]:
            assert m["id"].startswith("ma-") and len(m["id"]) == 15
    assert all(uai_ok(u) for u in CFAS)


def test_names_come_from_the_lists(history):
    signed, _, _ = history
    for doc in signed.values():
        a = doc["apprentice"]
        assert a["first_names"] in (samples.FIRST_NAMES_M if a["sex"] == "M" else samples.FIRST_NAMES_F)
        assert a["birth_name"] in samples.SURNAMES
        for m in doc["masters"]:
            assert m["first_names"] in samples.FIRST_NAMES_M + samples.FIRST_NAMES_F
            assert m["birth_name"] in samples.SURNAMES
    sexes = {doc["apprentice"]["sex"] for doc in signed.values()}
    assert sexes == {"M", "F"}


def test_minors_masters_pay_and_training(history):
    signed, _, _ = history
    minors = 0
    for doc in signed.values():
        c, t, a = doc["contract"], doc["training"], doc["apprentice"]
        start, end = date.fromisoformat(c["start_date"]), date.fromisoformat(c["planned_end_date"])
        if age_on(date.fromisoformat(a["birth_date"]), start) < 18:
            minors += 1
            assert a["legal_representative"]["name"] and c["weekly_hours"] <= 35
        else:
            assert "legal_representative" not in a
        for m in doc["masters"]:
            assert m["diploma_level"] >= t["certification"]["level"] and m["diploma_in_field"]
            assert float(m["related_experience_years"]) >= 2 and m["meets_requirements"]
        assert 1 <= len(doc["masters"]) <= 2
        assert date.fromisoformat(t["exams_end"]) < end
        pay = c["pay"]
        assert pay[0]["starts_on"] == c["start_date"] and pay[-1]["ends_on"] == c["planned_end_date"]
        for before, after in zip(pay, pay[1:]):
            assert date.fromisoformat(before["ends_on"]) + timedelta(days=1) == date.fromisoformat(after["starts_on"])
    assert minors > 0


def test_successors_continue_the_apprentice_at_the_same_cfa(history):
    signed, _, ruptured = history
    successors = [d for d in signed.values() if d["contract"].get("previous_contract_id")]
    assert successors
    for doc in successors:
        previous = signed[doc["contract"]["previous_contract_id"]]
        assert doc["contract"]["type"] == "23" and previous["contract_id"] in ruptured
        assert doc["apprentice"]["id"] == previous["apprentice"]["id"]
        assert doc["apprentice"]["nir"] == previous["apprentice"]["nir"]
        assert doc["training"]["cfa"]["uai"] == previous["training"]["cfa"]["uai"]
        assert doc["opco"] != previous["opco"]
    assert {d["contract"]["type"] for d in signed.values()} == {"11", "23"}


def test_every_amendment_keeps_a_whole_cerfa_the_pay_covering_it(history):
    signed, amended, _ = history
    assert amended
    for cid, data in amended:
        patch = data["changes"]
        assert set(patch) <= {"contract", "training"}
        new_end = patch["contract"]["planned_end_date"]
        doc = merge_patch(signed[cid], patch)
        SignedV2.model_validate(doc)
        assert missing_fields(doc) == []
        assert doc["contract"]["pay"][-1]["ends_on"] == new_end
        opco, violations = _check(doc, Context(full_cerfa=True))
        assert violations == [], (cid, violations)


def test_the_demo_history_gives_the_demo_keys_contracts():
    from operations.demo import DEMO_CONTRACTS, DEMO_KEYS, DEMO_SEED

    signed, _, _ = _history(DEMO_CONTRACTS, DEMO_SEED)
    cfas = {d["training"]["cfa"]["uai"] for d in signed.values()}
    opcos = {d["opco"] for d in signed.values()}
    for role, org in DEMO_KEYS:
        if role == "cfa":
            assert org in cfas
        elif role == "opco":
            assert org in opcos
