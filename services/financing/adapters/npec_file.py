"""Reading France compétences' NPEC referential as published: the .xlsx with its sheets
"référentiel NPEC" and "CPNE-IDCC", or CSV exports of those two sheets."""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from services.financing.domain.npec import NpecFile

NPEC_SHEET, CPNE_SHEET = "référentiel NPEC", "CPNE-IDCC"
NPEC_COLUMNS = {"rncp": "RNCP", "cpne": "Code CPNE", "npec": "NPEC final", "applicable_from": "Date d'applicabilité"}
NPEC_OPTIONAL = {"label": "Libellé de la formation", "status": "Statut"}
CPNE_COLUMNS = {"cpne": "Code CPNE", "idcc": "IDCC"}


class NpecFileError(ValueError):
    pass


def _norm(s: object) -> str:
    text = unicodedata.normalize("NFKD", str(s or "")).encode("ascii", "ignore").decode().lower()
    return " ".join(text.replace("’", "'").split())


def _find_header(rows: list[list], wanted: dict[str, str], sheet: str) -> tuple[int, dict[str, int]]:
    """The header row (within the first 15) and the index of each column; names a missing one."""
    best: tuple[int, dict[str, int], list[str]] | None = None
    for i, row in enumerate(rows[:15]):
        names = {_norm(c): j for j, c in enumerate(row) if c not in (None, "")}
        found = {k: names[_norm(v)] for k, v in wanted.items() if _norm(v) in names}
        missing = [v for k, v in wanted.items() if k not in found]
        if best is None or len(missing) < len(best[2]):
            best = (i, found, missing)
    if best is None or best[2]:
        raise NpecFileError(f"sheet {sheet!r}: missing column(s) {', '.join(best[2] if best else wanted.values())}")
    return best[0], best[1]


MAX_NPEC = Decimal("1000000")


def _amount(v: object) -> Decimal:
    try:
        amount = Decimal(str(v)) if isinstance(v, (int, float, Decimal)) else \
            Decimal(str(v).replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise NpecFileError(f"not an amount: {v!r}") from None
    if not amount.is_finite() or not 0 <= amount < MAX_NPEC:
        raise NpecFileError(f"not an annual funding level: {v!r}")
    return amount.quantize(Decimal("0.01"))


def _day(v: object) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = str(v).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise NpecFileError(f"not a date: {v!r}")


def _code(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _rows(rows: list[list], wanted: dict[str, str], optional: dict[str, str], sheet: str) -> list[dict]:
    header, idx = _find_header(rows, wanted, sheet)
    names = {_norm(c): j for j, c in enumerate(rows[header]) if c not in (None, "")}
    idx.update({k: names[_norm(v)] for k, v in optional.items() if _norm(v) in names})
    out = []
    for n, row in enumerate(rows[header + 1:], start=header + 2):
        if not any(c not in (None, "") for c in row):
            continue
        try:
            out.append({k: row[j] if j < len(row) else None for k, j in idx.items()})
        except IndexError:
            raise NpecFileError(f"sheet {sheet!r} line {n}: too few columns") from None
    return out


def _typed(npec: list[dict], cpne: list[dict]) -> NpecFile:
    typed_npec = []
    for r in npec:
        if r["npec"] in (None, ""):
            continue
        typed_npec.append({"rncp": _code(r["rncp"]), "cpne": _code(r["cpne"]), "npec": _amount(r["npec"]),
                           "applicable_from": _day(r["applicable_from"]), "label": r.get("label"),
                           "status": r.get("status")})
    typed_cpne = [{"cpne": _code(r["cpne"]), "idcc": str(int(_code(r["idcc"]))) if _code(r["idcc"]).isdigit()
                   else _code(r["idcc"])} for r in cpne if r["idcc"] not in (None, "")]
    return NpecFile(typed_npec, typed_cpne)


def read_xlsx(content: bytes) -> NpecFile:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise NpecFileError(f"not a readable .xlsx file: {exc}") from None
    sheets = {_norm(n): n for n in wb.sheetnames}
    for wanted in (NPEC_SHEET, CPNE_SHEET):
        if _norm(wanted) not in sheets:
            raise NpecFileError(f"missing sheet {wanted!r}")
    npec = [list(r) for r in wb[sheets[_norm(NPEC_SHEET)]].iter_rows(values_only=True)]
    cpne = [list(r) for r in wb[sheets[_norm(CPNE_SHEET)]].iter_rows(values_only=True)]
    return _typed(_rows(npec, NPEC_COLUMNS, NPEC_OPTIONAL, NPEC_SHEET), _rows(cpne, CPNE_COLUMNS, {}, CPNE_SHEET))


def _csv_rows(text: str) -> list[list]:
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        return list(csv.reader(text.lstrip("\ufeff").splitlines(), delimiter=delimiter))
    except csv.Error as exc:
        raise NpecFileError(f"not a CSV export: {exc}") from None


def read_csv(npec_text: str, cpne_text: str) -> NpecFile:
    return _typed(_rows(_csv_rows(npec_text), NPEC_COLUMNS, NPEC_OPTIONAL, NPEC_SHEET),
                  _rows(_csv_rows(cpne_text), CPNE_COLUMNS, {}, CPNE_SHEET))
