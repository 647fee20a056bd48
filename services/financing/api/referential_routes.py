"""PUT /v1/financing/referential/npec (ops): load France compétences' NPEC file, the .xlsx as
published or its two sheets as CSV; recomputes the paths it affects."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.financing.adapters.npec_file import NpecFileError, read_csv, read_xlsx
from services.financing.api.dependencies import CurrentClock, OpsPrincipal, UnitOfWork
from services.financing.application.import_npec_referential import import_npec_referential
from shared.api.problems import Problem
from shared.types import IsoDate, Prose

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PATH = "/v1/financing/referential/npec"
router = APIRouter(tags=["referential"])


class CsvExports(BaseModel):
    """The two sheets exported as CSV (comma or semicolon separated)."""
    model_config = ConfigDict(extra="forbid")
    referentiel_npec_csv: Prose = Field(min_length=1)
    cpne_idcc_csv: Prose = Field(min_length=1)
    file_date: IsoDate | None = None


def _invalid(exc: ValidationError) -> Problem:
    return Problem(422, "validation-error", "The request is not valid", "See errors.",
                   errors=[{"field": ".".join(str(p) for p in e["loc"]) or "body", "code": e["type"],
                            "message": e["msg"]} for e in exc.errors()])


@router.put(PATH, summary="Load the NPEC referential: the .xlsx as published, or its two sheets as CSV (ops)",
            openapi_extra={"requestBody": {"content": {
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": CsvExports.model_json_schema(),
                                     "examples": {"csv": {"value": {
                                         "referentiel_npec_csv": "RNCP,Code CPNE,NPEC final,Date d'applicabilité\n"
                                                                 "RNCP35185,7,7000,2024-07-15\n",
                                         "cpne_idcc_csv": "Code CPNE,IDCC\n7,1486\n"}}}}}}},
            responses={200: {"content": {"application/json": {"example": {
                "npec_rows": 9, "cpne_idcc_rows": 5, "recomputed_paths": 0, "referential_rows": 9}}}}})
async def put_npec(request: Request, principal: OpsPrincipal, uow: UnitOfWork, clock: CurrentClock):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    file_date = today = clock.today()
    try:
        if ctype == XLSX:
            parsed = read_xlsx(body)
        else:
            try:
                exports = CsvExports.model_validate_json(body)
            except ValidationError as exc:
                raise _invalid(exc) from None
            parsed = read_csv(exports.referentiel_npec_csv, exports.cpne_idcc_csv)
            file_date = exports.file_date or file_date
    except NpecFileError as exc:
        raise Problem(422, "invalid-npec-file", "The NPEC file is not in the published layout", str(exc)) from None
    return await import_npec_referential(uow, parsed, file_date, today)
