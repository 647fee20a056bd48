"""The DECA exchange (docs/deca.md), for ops and OPCO keys (a CFA key: 403 ``forbidden-role``):
reconcile an extract of DECA with our log, and export our deposited contracts in DECA's shape."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.contracts.adapters.sql_unit_of_work import SqlUnitOfWork
from services.contracts.api.dependencies import UnitOfWork
from services.contracts.application import deca_exchange
from services.contracts.domain.deca import CODES, CSV_COLUMNS, report_csv, report_json
from shared.api.dependencies import units_of_work
from shared.auth import CurrentPrincipal
from shared.types import Line

PATH = "/v1/deca/reconciliations"
CSV = "text/csv"
router = APIRouter(tags=["deca"])
_, SnapshotUnitOfWork = units_of_work(SqlUnitOfWork)

_EXTRACT = {"metadonnees": {"page": 1, "totalPages": 1, "totalElements": 1}, "contrats": [{
    "detailsContrat": {"noContrat": "075202410000123", "statut": "Rompu", "noAvenant": "1",
                       "dateEffetAvenant": "2025-03-01", "dateDebutContrat": "2024-09-28",
                       "dateFinContrat": "2025-10-03"},
    "rupture": {"dateEffetRupture": "2025-01-15"},
    "employeur": {"siret": "12345678200010", "codeIdcc": "1486"},
    "organismeFormationResponsable": {"uaiCfa": "0751234J", "siret": "98765432400019"}}]}
_REPORT = {"complete": True, "in_extract": 1, "compared": 1, "matched": 1, "disagreements": 2, "contracts": [{
    "contract_id": "6c1f0a56-8f38-4a57-9d0e-3f1b1f0d2a11", "deposit_number": "075202410000123",
    "no_contrat": "075202410000123", "disagreements": [
        {"code": "rupture_not_declared", "parcours": "deposited", "deca": "2025-01-15",
         "message": "DECA knows a rupture effective 2025-01-15 that was never declared here (the contract is deposited)."},
        {"code": "amendment_missing", "parcours": "0", "deca": "1",
         "message": "DECA counts 1 avenant(s); 0 recorded here."}]}]}


def _wants_csv(request: Request) -> bool:
    accept = [part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")]
    return CSV in accept and "application/json" not in accept[:accept.index(CSV)]


@router.post(PATH, summary="Reconcile a DECA extract with the log: every disagreement, per contract (ops, OPCO)",
             description="The body is a DECA extract: one page `{metadonnees, contrats}` or a list of pages "
                         "(application/json), or a CSV with one column per field named like "
                         "`detailsContrat.noContrat` (text/csv, comma or semicolon separated). The answer lists, "
                         "per contract, each disagreement with a stable code: " + ", ".join(f"`{c}`" for c in CODES)
                         + ". An OPCO key compares the contracts it funds, an ops key every contract; a CFA key "
                         "is refused (403). `not_in_deca` is checked only when the extract is read as complete "
                         "(every page of its metadonnees present, or `complete=true`). JSON by default; "
                         f"`Accept: text/csv` answers one line per disagreement ({', '.join(CSV_COLUMNS)}). "
                         "A malformed extract answers 422 `invalid-deca-extract` with every problem in `errors`.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]},
                                      "examples": {"page": {"summary": "One page of DECA", "value": _EXTRACT},
                                                   "pages": {"summary": "A list of pages", "value": [_EXTRACT]}}},
                 CSV: {"schema": {"type": "string"},
                       "examples": {"csv": {"value": "detailsContrat.noContrat,detailsContrat.statut,"
                                                     "rupture.dateEffetRupture\n075202410000123,Rompu,2025-01-15\n"}}}}}},
             responses={200: {"content": {"application/json": {"example": _REPORT},
                                          CSV: {"schema": {"type": "string"},
                                                "example": ",".join(CSV_COLUMNS) + "\n"}}}})
async def post_reconciliation(request: Request, principal: CurrentPrincipal, uow: UnitOfWork,
                              complete: bool | None = None, opco: Line | None = None):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    report = await deca_exchange.reconcile_deca(uow, principal, await request.body(), csv_format=ctype == CSV,
                                                complete=complete, opco=opco)
    if _wants_csv(request):
        return Response(report_csv(report), media_type="text/csv; charset=utf-8")
    return report_json(report)


@router.get("/v1/deca/contracts", summary="Our deposited contracts, in DECA's shape (ops, OPCO)",
            description="Pages of `{metadonnees: {page, totalPages, totalElements}, contrats}` as DECA publishes "
                        "them, by deposit number: `detailsContrat` (noContrat, statut, noAvenant, dateDebutContrat, "
                        "dateFinContrat), `rupture`, `employeur` (siret, codeIdcc), `organismeFormationResponsable`. "
                        "No personal data of the apprentice: DECA's `alternant` is not exported. An OPCO key "
                        "exports the contracts it funds, an ops key every one; a CFA key is refused (403).",
            responses={200: {"content": {"application/json": {"example": {
                "metadonnees": {"page": 1, "totalPages": 1, "totalElements": 1},
                "contrats": [{**_EXTRACT["contrats"][0], "detailsContrat": {
                    k: v for k, v in _EXTRACT["contrats"][0]["detailsContrat"].items() if k != "dateEffetAvenant"}}]}}}}})
async def get_deca_contracts(principal: CurrentPrincipal, uow: SnapshotUnitOfWork,
                             page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                             size: Annotated[int, Query(ge=1, le=deca_exchange.MAX_PAGE_SIZE)] = 100):
    return await deca_exchange.export_deca(uow, principal, page, size)
