"""An invoice as a printable page in French (an A4 HTML page with the mentions a French invoice
carries; issue 16): the same invoice as GET /v1/financing/invoices/{invoice_id}, for the same keys.

Its path is matched by ``/v1/financing/invoices/{invoice_id}`` too (a path parameter takes the
dot): this router must be included before billing_routes.router."""
from __future__ import annotations

from fastapi import APIRouter, Response

from services.financing.adapters.invoice_page import render_invoice_html
from services.financing.api.billing_routes import AsOf
from services.financing.api.dependencies import SnapshotUnitOfWork
from services.financing.application.accounts import load_invoice
from shared.api.printable import PAGE_HEADERS
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["invoices and payments"])
PATH = "/v1/financing/invoices/{invoice_id}.html"

PAGE_EXAMPLE = ("<!doctype html><html lang=\"fr\">...<h1>FACTURE</h1>..."
                "<div class=\"number\">N° F-0751234J-2025-00001</div>...")


@router.get(PATH, summary="An invoice as a printable A4 page, in French (its ETag is its version)",
            description="The invoice as GET /v1/financing/invoices/{invoice_id} answers it, laid out with the "
                        "mentions of a French invoice: FACTURE and its number, date d'émission, date "
                        "d'échéance, the issuing CFA (UAI, SIRET) and the OPCO addressed, the lines, the "
                        "employer contribution deducted, Total HT, TVA (exonération, CGI 261-4-4° a), Total "
                        "TTC, the payment terms, late penalties and the 40 € indemnity (code de commerce "
                        "L441-10, D441-5); a cancelled invoice shows its AVOIR. One self-contained page "
                        "(inline CSS, no script), to print or save as PDF. The CFA that issued it, the OPCO "
                        "it is addressed to, ops; another key gets 404.",
            response_class=Response,
            responses={200: {"description": "The invoice, as HTML",
                             "content": {"text/html": {"schema": {"type": "string"}, "example": PAGE_EXAMPLE}}}})
async def get_invoice_html(invoice_id: str, uow: SnapshotUnitOfWork, principal: CurrentPrincipal,
                           as_of: AsOf = None):
    async with uow:
        inv, _ = await load_invoice(uow, principal, invoice_id, as_of=as_of)
    return Response(render_invoice_html(inv.as_dict()), media_type="text/html; charset=utf-8",
                    headers={**PAGE_HEADERS, "ETag": f'"{inv.version}"'})
