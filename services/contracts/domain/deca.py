"""DECA reconciliation (docs/deca.md), pure: read an extract of DECA, the register of deposited
apprenticeship contracts, and list per contract where it and our log disagree.

An extract is what DECA publishes: one page ``{"metadonnees": {"page", "totalPages",
"totalElements"}, "contrats": [...]}`` or a list of such pages, as JSON; or a CSV whose columns
are the same fields flattened with dots (``detailsContrat.noContrat``, ``rupture.dateEffetRupture``,
``employeur.codeIdcc``...). Each contract is read into a ``DecaContract``; anything malformed is
refused with every problem listed (``DecaExtractError``: 422 ``invalid-deca-extract``, each error
with its ``field`` and a stable ``code``), within bounded sizes.

The comparison takes our contracts as ``ContractState`` and reads them only through its
properties. Each disagreement has a stable code (``CODES``), listed per contract in a
deterministic order. The statuses' meaning is services/contracts/domain/exchange_statuses.py.

The public documentation does not give DECA's date format nor the form of ``noAvenant``: dates
are read as ``YYYY-MM-DD`` (a time after it is ignored) or ``DD/MM/YYYY``; ``noAvenant`` as an
integer or a string ending with the avenant's ordinal (``"2"``, ``"02"``, ``"A02"``)."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from kernel.errors import Refused
from kernel.spreadsheet import safe_cell
from services.contracts.domain import exchange_statuses as st
from services.contracts.domain.state import ContractState
from shared.types import has_control_character

MAX_EXTRACT_BYTES = 20_000_000
MAX_CONTRACTS = 50_000
MAX_PAGES = 10_000
MAX_TEXT = 100          # characters in any field we read
MAX_ERRORS = 50         # errors listed before giving up

# The codes of disagreement, in the order they are listed within a contract.
CODES = ("unknown_to_parcours", "deposit_number_differs", "cancelled_in_deca", "rupture_not_declared",
         "rupture_date_differs", "idcc_differs", "amendment_missing", "not_in_deca")

# CSV column -> (record field, kind). The JSON paths are the same, nested.
FIELDS: dict[str, tuple[str, str]] = {
    "detailsContrat.noContrat": ("no_contrat", "text"),
    "detailsContrat.statut": ("statut", "statut"),
    "detailsContrat.noAvenant": ("no_avenant", "avenant"),
    "detailsContrat.dateEffetAvenant": ("date_effet_avenant", "date"),
    "detailsContrat.dateDebutContrat": ("date_debut_contrat", "date"),
    "detailsContrat.dateFinContrat": ("date_fin_contrat", "date"),
    "rupture.dateEffetRupture": ("date_effet_rupture", "date"),
    "employeur.siret": ("employer_siret", "text"),
    "employeur.codeIdcc": ("idcc", "text"),
    "organismeFormationResponsable.uaiCfa": ("cfa_uai", "text"),
    "organismeFormationResponsable.siret": ("cfa_siret", "text"),
}
_FR_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_TRAILING_DIGITS = re.compile(r"(\d{1,4})$")


@dataclass(frozen=True)
class DecaContract:
    """One contract as DECA lists it (the fields the reconciliation reads)."""
    no_contrat: str
    statut: str | None = None                 # None: in force (DECA's empty statut)
    no_avenant: int | None = None
    date_effet_avenant: date | None = None
    date_debut_contrat: date | None = None
    date_fin_contrat: date | None = None
    date_effet_rupture: date | None = None
    employer_siret: str | None = None
    idcc: str | None = None
    cfa_uai: str | None = None
    cfa_siret: str | None = None


@dataclass(frozen=True)
class DecaExtract:
    contracts: tuple[DecaContract, ...]
    pages: tuple[int, ...] = ()               # the pages read (JSON with metadonnees)
    total_pages: int | None = None
    total_elements: int | None = None

    @property
    def looks_complete(self) -> bool:
        """Every page 1..totalPages is here and the count is totalElements; an extract without
        metadonnees (a CSV, a bare list of contracts) is taken as complete."""
        if self.total_pages is None:
            return True
        return (sorted(self.pages) == list(range(1, self.total_pages + 1))
                and (self.total_elements is None or self.total_elements == len(self.contracts)))


class DecaExtractError(Refused):
    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("invalid-deca-extract", "The DECA extract cannot be read",
                         f"{len(errors)} problem(s); see errors.", errors=errors)


# ---------------------------------------------------------------- parsing

class _Errors:
    def __init__(self):
        self.items: list[dict[str, str]] = []

    def add(self, where: str, code: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append({"field": where, "code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            raise DecaExtractError(self.items)


def _date(value: str) -> date | None:
    m = _ISO_DATE.fullmatch(value) or _FR_DATE.fullmatch(value)
    if m is None:
        return None
    y, mo, d = (m.groups() if m.re is _ISO_DATE else tuple(reversed(m.groups())))
    try:
        parsed = date(int(y), int(mo), int(d))
    except ValueError:
        return None
    return parsed if date(1900, 1, 1) <= parsed <= date(2199, 12, 31) else None


def _value(raw: Any, kind: str, where: str, errors: _Errors) -> Any:
    """One field's value read from the extract, or None (absent, null or empty)."""
    if raw is None or raw == "":
        return None
    if kind == "avenant" and isinstance(raw, int) and not isinstance(raw, bool):
        if 0 <= raw <= 9999:
            return raw
        errors.add(where, "invalid_no_avenant", "noAvenant must be an avenant ordinal between 0 and 9999.")
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and kind == "text":
        raw = str(raw)    # a SIRET or an IDCC given as a number
    if not isinstance(raw, str):
        errors.add(where, "wrong_type", f"Expected a string, got {type(raw).__name__}.")
        return None
    value = raw.strip()
    if len(value) > MAX_TEXT:
        errors.add(where, "value_too_long", f"At most {MAX_TEXT} characters.")
        return None
    if has_control_character(value):
        errors.add(where, "control_character", "Control characters are not allowed.")
        return None
    if value == "":
        return None
    if kind == "date":
        parsed = _date(value)
        if parsed is None:
            errors.add(where, "invalid_date", f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY).")
        return parsed
    if kind == "statut":
        if value not in st.DECA_STATUSES:
            errors.add(where, "invalid_statut", f"{value!r} is not one of {', '.join(st.DECA_STATUSES)} (or empty).")
            return None
        return value
    if kind == "avenant":
        m = _TRAILING_DIGITS.search(value)
        if m is None:
            errors.add(where, "invalid_no_avenant", f"{value!r} does not end with the avenant's ordinal.")
            return None
        return int(m.group(1))
    return value


def _contract(flat: dict[str, Any], where: str, errors: _Errors) -> DecaContract | None:
    before = len(errors.items)
    values = {name: _value(flat.get(column), kind, f"{where}.{column}", errors)
              for column, (name, kind) in FIELDS.items()}
    if values["no_contrat"] is None and len(errors.items) == before:
        errors.add(f"{where}.detailsContrat.noContrat", "missing_no_contrat", "Every contract needs its noContrat.")
    if len(errors.items) != before:
        return None
    return DecaContract(**values)


def _flatten(contract: dict[str, Any], where: str, errors: _Errors) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for group in {column.split(".")[0] for column in FIELDS}:
        part = contract.get(group)
        if part is None:
            continue
        if not isinstance(part, dict):
            errors.add(f"{where}.{group}", "wrong_type", f"{group} must be an object.")
            continue
        for key, value in part.items():
            flat[f"{group}.{key}"] = value
    return flat


def _count(meta: dict[str, Any], key: str, where: str, errors: _Errors) -> int | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10 * MAX_CONTRACTS:
        errors.add(f"{where}.metadonnees.{key}", "invalid_metadonnees", f"{key} must be a whole number.")
        return None
    return value


def parse_json(payload: Any) -> DecaExtract:
    """An extract already decoded from JSON: one page, a list of pages, or a bare list of contracts."""
    errors = _Errors()
    pages = payload if isinstance(payload, list) and all(isinstance(p, dict) and "contrats" in p for p in payload) \
        else [payload] if isinstance(payload, dict) else None
    if pages is None and isinstance(payload, list):
        pages = [{"contrats": payload}]
    if pages is None or not pages:
        raise DecaExtractError([{"field": "body", "code": "not_an_extract",
                                 "message": "Send a DECA page {metadonnees, contrats}, a list of pages, "
                                            "or a list of contracts."}])
    if len(pages) > MAX_PAGES:
        raise DecaExtractError([{"field": "body", "code": "too_many_pages", "message": f"At most {MAX_PAGES} pages."}])
    contracts: list[DecaContract] = []
    numbers, totals_pages, totals_elements = [], set(), set()
    for i, page in enumerate(pages):
        where = f"pages[{i}]" if len(pages) > 1 else "body"
        if not isinstance(page, dict) or not isinstance(page.get("contrats"), list):
            errors.add(f"{where}.contrats", "not_an_extract", "A page needs a list 'contrats'.")
            continue
        meta = page.get("metadonnees")
        if meta is not None:
            if not isinstance(meta, dict):
                errors.add(f"{where}.metadonnees", "invalid_metadonnees", "metadonnees must be an object.")
            else:
                number = _count(meta, "page", where, errors)
                if number is not None:
                    numbers.append(number)
                totals_pages.add(_count(meta, "totalPages", where, errors))
                totals_elements.add(_count(meta, "totalElements", where, errors))
        if len(contracts) + len(page["contrats"]) > MAX_CONTRACTS:
            raise DecaExtractError([{"field": where, "code": "too_many_contracts",
                                     "message": f"At most {MAX_CONTRACTS} contracts in one extract."}])
        for j, item in enumerate(page["contrats"]):
            cwhere = f"{where}.contrats[{j}]"
            if not isinstance(item, dict):
                errors.add(cwhere, "wrong_type", "A contract must be an object.")
                continue
            parsed = _contract(_flatten(item, cwhere, errors), cwhere, errors)
            if parsed is not None:
                contracts.append(parsed)
    totals_pages.discard(None)
    totals_elements.discard(None)
    if len(totals_pages) > 1 or len(totals_elements) > 1:
        errors.add("metadonnees", "inconsistent_metadonnees", "The pages do not agree on totalPages or totalElements.")
    if len(set(numbers)) != len(numbers):
        errors.add("metadonnees.page", "duplicate_page", "A page is given twice.")
    return _checked(contracts, errors, tuple(numbers), next(iter(totals_pages), None),
                    next(iter(totals_elements), None))


def parse_csv(text: str) -> DecaExtract:
    """A CSV extract: a header of dotted column names (comma or semicolon separated), one row per
    contract. Columns we do not read are ignored; detailsContrat.noContrat is required."""
    errors = _Errors()
    lines = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(lines.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(lines), delimiter=dialect.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DecaExtractError([{"field": "header", "code": "empty_csv", "message": "The CSV is empty."}]) from None
    if "detailsContrat.noContrat" not in header:
        raise DecaExtractError([{"field": "header", "code": "missing_column",
                                 "message": "The header needs a column detailsContrat.noContrat."}])
    if len(set(header)) != len(header):
        raise DecaExtractError([{"field": "header", "code": "duplicate_column", "message": "A column is named twice."}])
    contracts: list[DecaContract] = []
    try:
        for n, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(contracts) >= MAX_CONTRACTS:
                raise DecaExtractError([{"field": f"line {n}", "code": "too_many_contracts",
                                         "message": f"At most {MAX_CONTRACTS} contracts in one extract."}])
            if len(row) != len(header):
                errors.add(f"line {n}", "wrong_column_count", f"{len(row)} values for {len(header)} columns.")
                continue
            parsed = _contract(dict(zip(header, row)), f"line {n}", errors)
            if parsed is not None:
                contracts.append(parsed)
    except csv.Error as exc:
        errors.add("body", "malformed_csv", str(exc)[:200])
    return _checked(contracts, errors, (), None, None)


def _checked(contracts: list[DecaContract], errors: _Errors, pages: tuple[int, ...], total_pages: int | None,
             total_elements: int | None) -> DecaExtract:
    seen: set[str] = set()
    for c in contracts:
        if c.no_contrat in seen:
            errors.add(f"noContrat {c.no_contrat}", "duplicate_no_contrat", "A contract is listed twice.")
        seen.add(c.no_contrat)
    errors.raise_if_any()
    return DecaExtract(tuple(contracts), pages, total_pages, total_elements)


def parse_extract(body: bytes, csv_format: bool | None = None) -> DecaExtract:
    """The extract from raw bytes (UTF-8): CSV when ``csv_format`` says so, or when it is None
    and the body does not start like JSON."""
    if len(body) > MAX_EXTRACT_BYTES:
        raise DecaExtractError([{"field": "body", "code": "extract_too_large",
                                 "message": f"At most {MAX_EXTRACT_BYTES} bytes."}])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DecaExtractError([{"field": "body", "code": "not_utf8", "message": "The extract must be UTF-8."}]) from None
    if csv_format is None:
        csv_format = text.lstrip("\ufeff \t\r\n")[:1] not in ("{", "[")
    if csv_format:
        return parse_csv(text)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecaExtractError([{"field": "body", "code": "not_json", "message": str(exc)[:200]}]) from None
    return parse_json(payload)


# ---------------------------------------------------------------- comparison

@dataclass(frozen=True)
class Disagreement:
    code: str
    parcours: str | None       # our value, as text (None: we have none)
    deca: str | None           # DECA's value
    message: str


@dataclass(frozen=True)
class ContractReport:
    contract_id: str | None           # ours (None: DECA's contract is unknown to us)
    deposit_number: str | None        # our deposit number
    no_contrat: str | None            # DECA's number (None: absent from the extract)
    disagreements: tuple[Disagreement, ...]

    def sort_key(self) -> tuple[str, str]:
        return (self.no_contrat or self.deposit_number or "", self.contract_id or "")


@dataclass(frozen=True)
class Reconciliation:
    complete: bool                    # the extract was read as complete: not_in_deca was checked
    in_extract: int                   # contracts in the extract
    compared: int                     # contracts of ours taken into the comparison
    matched: int                      # of them, found in the extract
    contracts: tuple[ContractReport, ...] = field(default_factory=tuple)

    @property
    def disagreements(self) -> int:
        return sum(len(c.disagreements) for c in self.contracts)


def _idcc(value: str | None) -> str | None:
    return None if value is None else (value.strip().lstrip("0") or "0")


def _siret(value: str | None) -> str | None:
    return None if value is None else value.replace(" ", "")


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def start_dates(extract: DecaExtract) -> list[date]:
    """The start dates our contracts must be read for (the match by employer and start date)."""
    return sorted({c.date_debut_contrat for c in extract.contracts if c.date_debut_contrat is not None})


def _compare(ours: ContractState, deca: DecaContract) -> list[Disagreement]:
    found: list[Disagreement] = []
    if deca.statut in st.DECA_CANCELLED and ours.status != "cancelled":
        found.append(Disagreement("cancelled_in_deca", ours.status, deca.statut,
                                  f"DECA says {deca.statut} ({st.DECA_MEANS[deca.statut]}); the contract is "
                                  f"{ours.status} here."))
    deca_ruptured = deca.date_effet_rupture is not None or deca.statut in st.DECA_RUPTURED
    if deca_ruptured and ours.status != "ruptured":
        found.append(Disagreement("rupture_not_declared", ours.status, _iso(deca.date_effet_rupture) or deca.statut,
                                  "DECA knows a rupture"
                                  + (f" effective {deca.date_effet_rupture.isoformat()}" if deca.date_effet_rupture else "")
                                  + f" that was never declared here (the contract is {ours.status})."))
    elif deca_ruptured and deca.date_effet_rupture is not None and ours.ruptured_on is not None \
            and deca.date_effet_rupture != date.fromisoformat(ours.ruptured_on):
        found.append(Disagreement("rupture_date_differs", ours.ruptured_on, deca.date_effet_rupture.isoformat(),
                                  "The rupture takes effect on another day in DECA."))
    if deca.idcc is not None and _idcc(deca.idcc) != _idcc(ours.idcc):
        found.append(Disagreement("idcc_differs", ours.idcc, deca.idcc, "The employer's IDCC differs."))
    if deca.no_avenant is not None and deca.no_avenant > ours.amendments:
        found.append(Disagreement("amendment_missing", str(ours.amendments), str(deca.no_avenant),
                                  f"DECA counts {deca.no_avenant} avenant(s); {ours.amendments} recorded here."))
    return found


def reconcile(extract: DecaExtract, ours: Iterable[ContractState], complete: bool | None = None) -> Reconciliation:
    """Every disagreement between the extract and our contracts (those the caller may see).

    A DECA contract is ours when its noContrat is one of our deposit numbers; otherwise when
    exactly one of our contracts not matched by number has its employer's SIRET and its start
    date (then ``deposit_number_differs``, both numbers given); otherwise ``unknown_to_parcours``.
    ``complete`` (default: ``extract.looks_complete``) makes every deposited contract of ours
    the extract does not list ``not_in_deca``."""
    states = sorted(ours, key=lambda s: s.contract_id)
    complete = extract.looks_complete if complete is None else complete
    by_number = {s.deposit_number: s for s in states if s.deposit_number}
    matched: dict[str, str] = {}      # our contract id -> DECA noContrat
    pairs: list[tuple[DecaContract, ContractState | None]] = []
    unmatched: list[DecaContract] = []
    for deca in sorted(extract.contracts, key=lambda c: c.no_contrat):
        state = by_number.get(deca.no_contrat)
        if state is not None and state.contract_id not in matched:
            matched[state.contract_id] = deca.no_contrat
            pairs.append((deca, state))
        else:
            unmatched.append(deca)
    for deca in unmatched:           # the same contract under another number: employer and start date
        candidates = [s for s in states if s.contract_id not in matched
                      and deca.employer_siret is not None and deca.date_debut_contrat is not None
                      and _siret(s.employer_siret) == _siret(deca.employer_siret)
                      and s.start_date == deca.date_debut_contrat.isoformat()]
        state = candidates[0] if len(candidates) == 1 else None
        if state is not None:
            matched[state.contract_id] = deca.no_contrat
        pairs.append((deca, state))

    reports: list[ContractReport] = []
    for deca, state in pairs:
        if state is None:
            reports.append(ContractReport(None, None, deca.no_contrat, (Disagreement(
                "unknown_to_parcours", None, deca.no_contrat,
                "No contract here has this deposit number, nor this employer and start date."),)))
            continue
        found = _compare(state, deca)
        if state.deposit_number != deca.no_contrat:
            found.insert(0, Disagreement("deposit_number_differs", state.deposit_number, deca.no_contrat,
                                         "The same employer and start date under another deposit number."))
        if found:
            reports.append(ContractReport(state.contract_id, state.deposit_number, deca.no_contrat,
                                          tuple(sorted(found, key=lambda d: CODES.index(d.code)))))
    if complete:
        for s in states:
            if s.deposit_number and s.contract_id not in matched:
                reports.append(ContractReport(s.contract_id, s.deposit_number, None, (Disagreement(
                    "not_in_deca", s.deposit_number, None,
                    f"Deposited here ({s.status}) but absent from an extract read as complete."),)))
    return Reconciliation(complete, len(extract.contracts), len(states), len(matched),
                          tuple(sorted(reports, key=ContractReport.sort_key)))


# ---------------------------------------------------------------- our contracts in DECA's shape

def as_deca_contract(s: ContractState) -> dict[str, Any]:
    """One deposited contract of ours in DECA's shape. No personal data of the apprentice (DECA's
    ``alternant`` is left out: names, birth date, address are not exported here), and only the
    fields we hold without walking the CERFA: ``formation`` and ``dateEffetAvenant`` are absent."""
    statut = st.deca_status(s.status)
    contract: dict[str, Any] = {
        "detailsContrat": {"noContrat": s.deposit_number, "statut": statut or "",
                           "noAvenant": str(s.amendments) if s.amendments else None,
                           "dateDebutContrat": s.start_date, "dateFinContrat": s.planned_end_date},
        "employeur": {"siret": s.employer_siret, "codeIdcc": s.idcc},
        "organismeFormationResponsable": {"uaiCfa": s.cfa_uai, "siret": s.cfa_siret},
    }
    if s.status == "ruptured" and s.ruptured_on:
        contract["rupture"] = {"dateEffetRupture": s.ruptured_on}
    return contract


def deca_page(states: list[ContractState], page: int, size: int, total: int) -> dict[str, Any]:
    """A page of the export: ``metadonnees`` (page from 1) and ``contrats``."""
    return {"metadonnees": {"page": page, "totalPages": max(1, -(-total // size)), "totalElements": total},
            "contrats": [as_deca_contract(s) for s in states]}


def report_json(r: Reconciliation) -> dict[str, Any]:
    return {"complete": r.complete, "in_extract": r.in_extract, "compared": r.compared, "matched": r.matched,
            "disagreements": r.disagreements,
            "contracts": [{"contract_id": c.contract_id, "deposit_number": c.deposit_number,
                           "no_contrat": c.no_contrat,
                           "disagreements": [{"code": d.code, "parcours": d.parcours, "deca": d.deca,
                                              "message": d.message} for d in c.disagreements]}
                          for c in r.contracts]}


CSV_COLUMNS = ("contract_id", "deposit_number", "no_contrat", "code", "parcours", "deca", "message")


def report_csv(r: Reconciliation) -> str:
    """One line per disagreement, the columns of ``CSV_COLUMNS``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for c in r.contracts:
        for d in c.disagreements:
            w.writerow([safe_cell(v) for v in (c.contract_id or "", c.deposit_number or "", c.no_contrat or "", d.code,
                                            d.parcours or "", d.deca or "", d.message)])
    return out.getvalue()
