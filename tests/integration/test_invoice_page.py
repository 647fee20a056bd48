"""GET /v1/financing/invoices/{invoice_id}.html (issue 16): the invoice's printable page, for the
keys that see the invoice as JSON, 404 for the others and for an unknown id. The invoice is
written straight into the financing store of a database of this test's own (the issuing flow is
not what this test is about)."""
import uuid

import pytest
from fastapi import Depends

from services.financing.adapters.billing_store import SqlBilling
from services.financing.api import invoice_page_routes
from services.financing.domain.billing import invoice_stream, ledger_key
from shared.api.app import reject_unknown_query
from shared.api.problems import ERROR_RESPONSES
from shared.auth import create_key
from tests.support import CFA_A, CFA_B, OPCO_X, OPCO_Y, Keys, running

H = Keys.header
CID = "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11"


def with_invoice_page(app):
    """The financing app with the page's router included as build_app includes every router, ahead of
    billing_routes' ``/v1/financing/invoices/{invoice_id}`` (which would take ``<id>.html`` for an id)."""
    def mine(route):
        return getattr(route, "original_router", None) is invoice_page_routes.router

    if not any(mine(r) for r in app.router.routes):
        app.include_router(invoice_page_routes.router, responses=ERROR_RESPONSES,
                           dependencies=[Depends(reject_unknown_query)])
    app.router.routes[:] = [r for r in app.router.routes if mine(r)] + [r for r in app.router.routes if not mine(r)]
    app.openapi_schema = None
    return app


def issued(invoice_id: str) -> dict:
    return {"invoice_id": invoice_id, "number": "F-0751234J-2025-00001", "cfa_uai": CFA_A,
            "cfa_siret": "98765432400019", "opco": OPCO_X, "issued_on": "2025-10-01", "payment_due_on": "2025-10-31",
            "lines": [{"kind": "advance", "contract_id": CID, "funding_year": 1, "advance": 1, "amount": "3250.00",
                       "label": "Avance 1, année de financement 1", "employer_contribution": "750.00"}],
            "total": "3250.00"}


async def append(engine, invoice_id: str, expected: int, events: list[tuple[str, dict]]) -> None:
    async with engine.begin() as conn:
        await SqlBilling(conn).append([(invoice_stream(invoice_id), expected, events)], ledger_key(CFA_A, OPCO_X),
                                      "test")


@pytest.fixture
async def page_stack(isolated):
    from services.financing.api.app import create_app
    settings, engine = isolated
    app = with_invoice_page(create_app(settings.model_copy(update={"run_workers": False})))
    async with engine.begin() as conn:
        keys = Keys(*[(await create_key(conn, role, org))[1] for role, org in
                      (("cfa", CFA_A), ("cfa", CFA_B), ("opco", OPCO_X), ("opco", OPCO_Y), ("ops", "ops"))])
    async with running(app) as client:
        yield client, engine, keys


async def test_the_page_for_those_who_see_the_invoice_404_for_the_others(page_stack):
    client, engine, keys = page_stack
    invoice_id = str(uuid.uuid4())
    await append(engine, invoice_id, 0, [("invoice.issued", issued(invoice_id))])
    url = f"/v1/financing/invoices/{invoice_id}.html"
    for key in (keys.cfa_a, keys.opco_x, keys.ops):
        r = await client.get(url, headers=H(key))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["etag"] == '"1"'
        assert r.headers["cache-control"] == "private, no-store"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.text.startswith("<!doctype html>")
        for mention in ("FACTURE", "F-0751234J-2025-00001", "OPCO ATLAS", "3\u202f250,00\u00a0€",
                        "Contribution employeur déduite (décret n° 2025-585)"):
            assert mention in r.text, mention
    # the JSON answer is not shadowed by the page, nor the page by it
    r = await client.get(f"/v1/financing/invoices/{invoice_id}", headers=H(keys.cfa_a))
    assert r.status_code == 200 and r.json()["number"] == "F-0751234J-2025-00001"
    for key in (keys.cfa_b, keys.opco_y):
        r = await client.get(url, headers=H(key))
        assert r.status_code == 404, (key, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get(url)).status_code == 401

    await append(engine, invoice_id, 1, [("invoice.cancelled", {
        "invoice_id": invoice_id, "credit_note_number": "A-0751234J-2025-00002", "cancelled_on": "2025-10-02",
        "reason": "Erreur <de> montant", "credit_note_total": "3250.00"})])
    r = await client.get(url, headers=H(keys.opco_x))
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert "AVOIR" in r.text and "A-0751234J-2025-00002" in r.text and "-3\u202f250,00\u00a0€" in r.text
    assert "Erreur &lt;de&gt; montant" in r.text


async def test_an_unknown_invoice_is_404(page_stack):
    client, _, keys = page_stack
    for key in (keys.cfa_a, keys.opco_x, keys.ops):
        r = await client.get(f"/v1/financing/invoices/{uuid.uuid4()}.html", headers=H(key))
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


async def test_the_page_is_documented_as_html(page_stack):
    client, _, _ = page_stack
    spec = (await client.get("/openapi.json")).json()
    ok = spec["paths"][invoice_page_routes.PATH]["get"]["responses"]["200"]["content"]
    assert set(ok) == {"text/html"} and ok["text/html"]["example"].startswith("<!doctype html>")
