"""The contract as the CERFA FA13: the whole document, personal data included, for the CFA that
owns the contract and the OPCO that funds it (docs/cerfa.md): as JSON, and as the printable form
in French (an A4 HTML page, a PDF; issue 15)."""
from __future__ import annotations

import re

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from contract_events.cerfa import Cerfa
from services.contracts.adapters.cerfa_document import render_html, render_pdf
from services.contracts.api import examples
from services.contracts.api.dependencies import UnitOfWork
from services.contracts.application import contract_reads
from services.contracts.application.unit_of_work import ContractView
from services.contracts.domain.cerfa_form import CerfaForm, build_form
from shared.api.printable import PAGE_HEADERS
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["contracts"])
CERFA_ANSWER = {**examples.SIGN_CERFA, "opco": "ATLAS",
                "apprentice": {**examples.SIGN_CERFA["apprentice"], "id": "app-6f1c0d2a9b3e4f5a6b7c8d9e"},
                "masters": [{**examples.SIGN_CERFA["masters"][0], "id": "ma-0a1b2c3d4e5f60718293a4b5"}]}

_WHO = ("The CFA that owns the contract or the OPCO that funds it (an ops key is refused, 403; a key "
        "that cannot see the contract gets 404).")


@router.get("/v1/contracts/{contract_id}/cerfa", summary="The contract's CERFA FA13, whole (CFA or OPCO key)",
            response_model=Cerfa, response_model_exclude_none=True,
            responses={200: {"content": {"application/json": {"example": CERFA_ANSWER}}}},
            description="The CERFA as signed, every avenant applied; personal data included. A contract "
                        "signed with the summary body of version 1 answers the CERFA it upcasts to, its "
                        "empty boxes absent.")
async def get_cerfa(contract_id: str, response: Response, principal: CurrentPrincipal, uow: UnitOfWork):
    view = await contract_reads.get_cerfa(uow, principal, contract_id)
    response.headers["ETag"] = f'"{view.version}"'
    response.headers["Cache-Control"] = "private, no-store"    # personal data: no cache keeps it
    return view.state["terms"]


@router.get("/v1/contracts/{contract_id}/cerfa.html",
            summary="The contract's CERFA FA13 as a printable A4 page, in French (CFA or OPCO key)",
            description="The form laid out as the official cerfa n° 10103*13 (L'EMPLOYEUR, L'APPRENTI(E), "
                        "LE MAÎTRE D'APPRENTISSAGE n°1 and n°2, LE CONTRAT and its Rémunération, LA FORMATION), "
                        "every avenant applied; empty boxes blank. One self-contained page (inline CSS, no "
                        "script), to print or save as PDF. " + _WHO,
            response_class=Response,
            responses={200: {"description": "The form, as HTML",
                             "content": {"text/html": {"schema": {"type": "string"},
                                                       "example": "<!doctype html><html lang=\"fr\">..."}}}})
async def get_cerfa_html(contract_id: str, principal: CurrentPrincipal, uow: UnitOfWork):
    view = await contract_reads.get_cerfa(uow, principal, contract_id)
    return Response(render_html(_form(view)), media_type="text/html; charset=utf-8",
                    headers={**PAGE_HEADERS, "ETag": f'"{view.version}"'})


@router.get("/v1/contracts/{contract_id}/cerfa.pdf",
            summary="The contract's CERFA FA13 as an A4 PDF, in French (CFA or OPCO key)",
            description="The same form as cerfa.html, as a PDF document (shown inline; its file name names "
                        "the contract). " + _WHO,
            response_class=Response,
            responses={200: {"description": "The form, as PDF",
                             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def get_cerfa_pdf(contract_id: str, principal: CurrentPrincipal, uow: UnitOfWork):
    view = await contract_reads.get_cerfa(uow, principal, contract_id)
    filename = f"cerfa-fa13-{_safe(view.contract_id)}.pdf"
    pdf = await run_in_threadpool(render_pdf, _form(view))   # a few hundred ms of CPU
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store", "ETag": f'"{view.version}"'})


def _form(view: ContractView) -> CerfaForm:
    return build_form(view.state.get("terms") or {}, contract_id=view.contract_id, status=view.status)


def _safe(text: str) -> str:
    """A contract id as it may appear in a header's quoted file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:80]
