"""GET /v1/contracts/{id}/cerfa.html and .pdf (issue 15): the signed CERFA as the printable form,
in French, for the contract's CFA and its OPCO only; through the API on real PostgreSQL."""
import copy
import random
import secrets

import pytest

from services.contracts.api.examples import SIGN_CERFA
from services.contracts.domain.nir import with_key
from tests.support import Keys

H = Keys.header
FRENCH_TITLES = ["CONTRAT D'APPRENTISSAGE", "cerfa n° 10103*13", "Code du travail, art. L6221-1 et suivants",
                 "L'EMPLOYEUR", "L'APPRENTI(E)", "LE MAÎTRE D'APPRENTISSAGE n°1", "LE MAÎTRE D'APPRENTISSAGE n°2",
                 "LE CONTRAT", "Rémunération", "LA FORMATION"]
ENGLISH_TITLES = ["Employer", "Apprentice", "Master", "Contract", "Training", "Remuneration", "Pay"]


def html_text(title: str) -> str:
    return title.replace("'", "&#39;")


@pytest.fixture
async def signed(contracts, keys):
    """The README's full CERFA, signed by the CFA of UAI 0751234J, for an apprentice and a master
    of this test's own; the apprentice's birth name holds markup."""
    body = copy.deepcopy(SIGN_CERFA)
    body["apprentice"]["nir"] = with_key(f"2050375{random.randrange(1_000_000):06d}")
    body["apprentice"]["birth_name"] = f"Martin <b>{secrets.token_hex(3)}</b>"
    body["masters"][0]["first_names"] = f"Paul {secrets.token_hex(3)}"
    r = await contracts.post("/v1/contracts", json=body, headers=H(keys.cfa_a))
    assert r.status_code == 201, r.text
    return r.json()["contract_id"], body


async def test_the_cfa_gets_the_form_as_a_french_html_page(contracts, keys, signed):
    cid, body = signed
    r = await contracts.get(f"/v1/contracts/{cid}/cerfa.html", headers=H(keys.cfa_a))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp and "script-src" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in r.headers["cache-control"]
    page = r.text
    assert '<html lang="fr">' in page
    for title in FRENCH_TITLES:
        assert html_text(title) in page, title
    for title in ENGLISH_TITLES:
        assert f">{title}<" not in page and f">{title.upper()}<" not in page, title
    name = body["apprentice"]["birth_name"]
    assert name not in page                                         # never as markup
    assert name.replace("<", "&lt;").replace(">", "&gt;") in page    # but there, escaped
    assert "Léa" in page and cid in page
    assert "20/09/2024" in page and "759,78\u00a0€" in page


async def test_the_cfa_gets_the_form_as_a_pdf(contracts, keys, signed):
    cid, _ = signed
    r = await contracts.get(f"/v1/contracts/{cid}/cerfa.pdf", headers=H(keys.cfa_a))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline;") and cid in r.headers["content-disposition"]
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert cid.encode() in pdf
    assert b"/Title" in pdf and b"/MediaBox [0 0 595.28 841.89]" in pdf      # A4, titled
    assert b"startxref" in pdf and b"/Root" in pdf


async def test_the_funding_opco_may_read_it_others_may_not(contracts, keys, signed):
    cid, _ = signed
    for suffix in ("cerfa.html", "cerfa.pdf"):
        url = f"/v1/contracts/{cid}/{suffix}"
        assert (await contracts.get(url, headers=H(keys.opco_x))).status_code == 200, suffix
        assert (await contracts.get(url, headers=H(keys.ops))).status_code == 403, suffix
        assert (await contracts.get(url, headers=H(keys.cfa_b))).status_code == 404, suffix
        assert (await contracts.get(url, headers=H(keys.opco_y))).status_code == 404, suffix
        assert (await contracts.get(url)).status_code == 401, suffix
    assert (await contracts.get("/v1/contracts/no-such-contract/cerfa.pdf", headers=H(keys.cfa_a))).status_code == 404


async def test_the_openapi_document_names_the_content_types(contracts):
    paths = (await contracts.get("/openapi.json")).json()["paths"]
    html = paths["/v1/contracts/{contract_id}/cerfa.html"]["get"]["responses"]["200"]["content"]
    pdf = paths["/v1/contracts/{contract_id}/cerfa.pdf"]["get"]["responses"]["200"]["content"]
    assert "text/html" in html and "application/pdf" in pdf
