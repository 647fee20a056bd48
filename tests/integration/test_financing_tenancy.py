"""A CFA key issued for the CFA's SIRET (`parcours keys create --role cfa --org <SIRET>`) sees in
financing what the rule says (kernel/access.py: UAI or SIRET): its contracts' funding, handover
and commitment lines, now and as of a moment; another CFA's SIRET sees none of them."""
from dataclasses import replace
from datetime import datetime, timezone

from services.contracts.domain.identifiers import luhn_ok, siret_ok, uai_check_letter
from shared.auth import create_key
from tests.integration.lifecycle_api import ContractsApi
from tests.support import Keys, eventually

H = Keys.header
PERIOD = {"from": "2024-01-01", "to": "2027-12-31"}


def siret(prefix: str) -> str:
    """A valid SIRET of this test only: a Luhn SIREN, then the first valid establishment."""
    siren = next(f"{prefix}{d}" for d in "0123456789" if luhn_ok(f"{prefix}{d}"))
    return next(s for s in (f"{siren}{n:05d}" for n in range(1, 100_000)) if siret_ok(s))


async def test_a_siret_keyed_cfa_sees_its_funding_and_another_siret_none(contracts, financing, keys, engine):
    uai = "0754323" + uai_check_letter("0754323")
    own_siret, other_siret = siret("77312345"), siret("77312346")
    async with engine.begin() as conn:
        own = (await create_key(conn, "cfa", own_siret))[1]
        other = (await create_key(conn, "cfa", other_siret))[1]
    api = ContractsApi(contracts, replace(keys, cfa_a=own))
    cid = (await api.sign(apprentice={"id": "app-siret", "birth_date": "2005-03-14"},
                          cfa={"uai": uai, "siret": own_siret}))["contract_id"]
    await api.transmit(cid)
    await api.accept(cid, level="8000.00")

    async def funded():
        r = await financing.get(f"/v1/financing/contracts/{cid}", headers=H(own))
        return r.status_code == 200 and r.json()["npec_source"] == "opco_decision" and r.json()
    funding = await eventually(funded, what="the accepted contract funded, seen by its CFA's SIRET key")
    assert funding["cfa_uai"] == uai and funding["schedule"]
    assert (await financing.get(f"/v1/financing/contracts/{cid}", headers=H(other))).status_code == 404

    handover = await financing.get("/v1/financing/apprentices/app-siret/handover", headers=H(own))
    assert handover.status_code == 200 and [h["contract_id"] for h in handover.json()["handover"]] == [cid]
    assert (await financing.get("/v1/financing/apprentices/app-siret/handover",
                                headers=H(other))).status_code == 404

    moment = datetime.now(timezone.utc).isoformat()
    for params in (PERIOD, {**PERIOD, "as_of": moment}):
        mine = (await financing.get("/v1/financing/opcos/ATLAS/commitments", params=params, headers=H(own))).json()
        assert {c for m in mine["months"] for c in m["by_cfa"]} == {uai}, params
        assert mine["total"] == funding["total"], params
        theirs = (await financing.get("/v1/financing/opcos/ATLAS/commitments", params=params,
                                      headers=H(other))).json()
        assert theirs["months"] == [] and theirs["total"] == "0.00", params
