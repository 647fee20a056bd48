"""The contract is the CERFA (docs/cerfa.md): a whole form signs and is answered whole to its CFA
and OPCO only; empty boxes and broken rules are listed at once, each with its article; a master
follows at most two apprentices at once (R6223-6); nothing personal ever reaches the topic."""
import copy
import json

from chaos.evidence import read_topic
from shared.messaging.topics import CONTRACT_EVENTS
from tests.support import Keys, cerfa_body, eventually

H = Keys.header


async def sign(contracts, key, body):
    return await contracts.post("/v1/contracts", json=body, headers=H(key))


async def test_a_complete_cerfa_signs_and_is_answered_whole_to_its_cfa_and_opco_only(contracts, keys):
    body = cerfa_body()
    r = await sign(contracts, keys.cfa_a, body)
    assert r.status_code == 201, r.text
    cid = r.json()["contract_id"]
    cerfa = (await contracts.get(f"/v1/contracts/{cid}/cerfa", headers=H(keys.cfa_a))).json()
    assert cerfa["apprentice"]["nir"] == body["apprentice"]["nir"]
    assert cerfa["apprentice"]["birth_name"] == body["apprentice"]["birth_name"]
    assert cerfa["apprentice"]["id"].startswith("app-") and cerfa["masters"][0]["id"].startswith("ma-")
    assert cerfa["contract"]["pay"][2]["gross_monthly"] == "1112.05" and cerfa["opco"] == "ATLAS"
    assert cerfa["training"]["remote_at_least_80_percent"] is False and cerfa["employer"]["public_sector"] is False
    assert (await contracts.get(f"/v1/contracts/{cid}/cerfa", headers=H(keys.opco_x))).status_code == 200
    assert (await contracts.get(f"/v1/contracts/{cid}/cerfa", headers=H(keys.ops))).status_code == 403
    assert (await contracts.get(f"/v1/contracts/{cid}/cerfa", headers=H(keys.cfa_b))).status_code == 404
    state = (await contracts.get(f"/v1/contracts/{cid}", headers=H(keys.ops))).json()["state"]
    shown = json.dumps(state)
    assert body["apprentice"]["nir"] not in shown and body["apprentice"]["birth_name"] not in shown
    assert state["terms"]["training"]["certification"]["rncp"] == "RNCP35185"


async def test_the_same_person_gets_the_same_pseudonym_and_cannot_hold_two_contracts(contracts, keys):
    body = cerfa_body()
    first = await sign(contracts, keys.cfa_a, body)
    again = copy.deepcopy(body)
    again["apprentice"]["birth_name"] = "Quelqu'un d'autre"   # the NIR names the person
    refused = await sign(contracts, keys.cfa_a, again)
    assert first.status_code == 201 and refused.status_code == 422, refused.text
    assert [e["code"] for e in refused.json()["errors"]] == ["overlapping_contract"]


async def test_every_empty_box_and_broken_rule_is_listed_at_once(contracts, keys):
    body = cerfa_body()
    del body["employer"]["naf"]
    body["apprentice"].update(birth_date="2008-06-01", nir=body["apprentice"]["nir"][:-2] + "00")   # a minor
    body["contract"].update(weekly_hours=38, dangerous_machines=True,
                            pay=[{"starts_on": "2024-09-28", "ends_on": "2025-06-30", "pct": "27", "base": "SMIC"}])
    r = await sign(contracts, keys.cfa_a, body)
    assert r.status_code == 422, r.text
    found = {(e["field"], e["code"], e.get("article")) for e in r.json()["errors"]}
    assert {("employer.naf", "cerfa_field_missing", None),
            ("apprentice.nir", "nir_key_invalid", None),
            ("apprentice.nir", "nir_inconsistent", None),
            ("apprentice.legal_representative", "legal_representative_missing", "C. civ. 388-1-1"),
            ("contract.weekly_hours", "minor_weekly_hours_exceeded", "L6222-25"),
            ("contract.dangerous_machines_declared_on", "dangerous_machines_not_declared", "R4153-40"),
            ("contract.pay", "pay_does_not_cover_contract", "D6222-26")} <= found, found


def with_master(master_name: str, **contract):
    body = cerfa_body(contract=contract) if contract else cerfa_body()
    body["masters"][0]["birth_name"] = master_name
    return body


async def test_a_master_with_two_live_apprentices_takes_no_third_but_one_repeating(contracts, keys):
    master = cerfa_body()["masters"][0]["birth_name"]
    for _ in range(2):
        assert (await sign(contracts, keys.cfa_a, with_master(master))).status_code == 201
    third = await sign(contracts, keys.cfa_a, with_master(master))
    assert third.status_code == 422, third.text
    (error,) = third.json()["errors"]
    assert (error["field"], error["code"], error["article"]) == ("masters[0]", "master_too_many_apprentices", "R6223-6")
    assert "already follows 2 live apprentice(s)" in error["message"]
    extension = {"duration_adjustment": {"kind": "extension"}}
    assert (await sign(contracts, keys.cfa_a, with_master(master, **extension))).status_code == 201
    fourth = await sign(contracts, keys.cfa_a, with_master(master, **extension))
    assert [e["code"] for e in fourth.json()["errors"]] == ["master_too_many_apprentices"]
    # another CFA's signature counts the same master: the rule is the master's, not the CFA's
    other = with_master(master)
    other["training"]["cfa"] = {**other["training"]["cfa"], "uai": "0931234L", "siret": None}
    other["training"]["cfa"].pop("siret")
    assert [e["code"] for e in (await sign(contracts, keys.cfa_b, other)).json()["errors"]] == \
        ["master_too_many_apprentices"]


async def test_the_topic_never_carries_a_nir_a_name_or_a_birth_date(contracts, keys, settings):
    signed = []
    for _ in range(3):
        body = cerfa_body()
        r = await sign(contracts, keys.cfa_a, body)
        assert r.status_code == 201, r.text
        signed.append((r.json()["contract_id"], body))
    cid, body = signed[0]
    new_master = {"birth_name": "Nouveau-Maître", "first_names": "Inès", "birth_date": "1979-02-02",
                  "email": "ines@exemple.fr", "meets_requirements": True}
    amended = await contracts.post(f"/v1/contracts/{cid}/amendments", headers=H(keys.cfa_a), json={
        "effective_on": "2025-01-06", "amendment_type": "32", "changes": {"masters": [new_master]}})
    assert amended.status_code == 200, amended.text
    topic = settings.topic(CONTRACT_EVENTS)

    async def all_published():
        records = await read_topic(settings, topic)
        ours = {json.loads(r.value)["subject"] for r in records}
        return records if {c for c, _ in signed} <= ours and len(records) >= 4 else None
    records = await eventually(all_published, what="the signatures and the amendment on the topic")
    raw = b"\n".join(r.value for r in records).decode()
    people = [b["apprentice"][k] for _, b in signed for k in ("nir", "birth_name", "first_names")]
    people += [b["masters"][0]["birth_name"] for _, b in signed] + ["Nouveau-Maître", "ines@exemple.fr"]
    people += [b["apprentice"]["contact"]["email"] for _, b in signed]
    assert [p for p in people if p in raw] == []
    for r in records:
        ce = json.loads(r.value)
        data = ce["data"]
        assert "nir" not in json.dumps(data), ce
        if ce["type"] == "contract.signed" and ce["dataschema"].endswith("/2"):
            assert set(data["apprentice"]) <= {"id", "nationality", "social_scheme", "situation_before",
                                               "last_diploma_prepared", "last_class", "highest_diploma", "rqth",
                                               "high_level_athlete", "business_creation_project",
                                               "lower_secondary_completed"}, data["apprentice"]
            assert data["apprentice"]["id"].startswith("app-")


async def test_an_avenant_naming_a_busy_master_is_refused_and_a_new_master_gets_a_pseudonym(contracts, keys):
    busy = cerfa_body()["masters"][0]
    for _ in range(2):
        body = cerfa_body()
        body["masters"] = [busy]
        assert (await sign(contracts, keys.cfa_a, body)).status_code == 201
    cid = (await sign(contracts, keys.cfa_a, cerfa_body())).json()["contract_id"]
    refused = await contracts.post(f"/v1/contracts/{cid}/amendments", headers=H(keys.cfa_a), json={
        "effective_on": "2025-01-06", "amendment_type": "32", "changes": {"masters": [busy]}})
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["article"]) for e in refused.json()["errors"]] == [("master_too_many_apprentices", "R6223-6")]
    free = {**busy, "birth_name": busy["birth_name"] + "-Autre"}
    assert (await contracts.post(f"/v1/contracts/{cid}/amendments", headers=H(keys.cfa_a), json={
        "effective_on": "2025-01-06", "amendment_type": "32", "changes": {"masters": [free]}})).status_code == 200
    cerfa = (await contracts.get(f"/v1/contracts/{cid}/cerfa", headers=H(keys.cfa_a))).json()
    assert cerfa["masters"][0]["birth_name"] == free["birth_name"] and cerfa["masters"][0]["id"].startswith("ma-")
