"""The CERFA FA13 as a printable form (issue 15): the contract's CERFA, as JSON, laid out as the
official form is, in French, for ``GET /v1/contracts/{id}/cerfa.html`` and ``.pdf``
(services/contracts/adapters/cerfa_document.py draws it).

The layout follows the contrat d'apprentissage cerfa n° 10103*13 (notice FA14 n° 51649#05):
L'EMPLOYEUR, L'APPRENTI(E), LE MAÎTRE D'APPRENTISSAGE n°1 and n°2, LE CONTRAT with its
Rémunération table, LA FORMATION; docs/cerfa.md says why this revision.

The labels are written once, in the model: every row's label is the ``description`` of its field
in ``contract_events.cerfa`` (walked recursively from ``Cerfa.model_fields``). Only the duration
adjustment (a model of ``contract_events.signed`` that carries no description) has its French
labels here. Values are shown as on a filled-in paper form: codes
with their label from the notice's lists (``11 – Entreprise inscrite au répertoire des
métiers...``), dates DD/MM/YYYY, Oui/Non, amounts ``759,78 €``; an empty box stays blank.

Pure: no I/O, the input is the JSON the contracts service answers on ``/cerfa``.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

from contract_events import cerfa_codes
from contract_events.cerfa import Cerfa, SignedV2
from kernel.french_format import euros, french_date

TITLE = "CONTRAT D'APPRENTISSAGE"
# The revision followed: cerfa n° 10103*13 (FA13), with its notice FA14 (docs/cerfa.md).
CERFA_NUMBER = "cerfa n° 10103*13"
LEGAL_BASIS = "Code du travail, art. L6221-1 et suivants"
DASH = "\u2013"   # en dash, between a code and its label
SIGNATURES_TITLE = "Signatures"
SIGNATURES = ("Signature de l'employeur", "Signature de l'apprenti(e)",
              "Signature du représentant légal de l'apprenti(e) mineur(e)")
NOTICE = ("Document établi par Parcours à partir du contrat enregistré (toutes les modifications par avenant "
          "appliquées); il ne remplace pas le contrat signé ni son dépôt.")

# The French labels of the fields that carry no description (models of contract_events.signed,
# shared with version 1): by model name, then field name.
FALLBACK_LABELS: dict[str, dict[str, str]] = {
    "DurationAdjustment": {"kind": "Nature (réduction ou allongement)",
                           "tripartite_convention": "Convention tripartite",
                           "justification": "Motif"},
}
# Values shown in French where the JSON keeps an English word.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "DurationAdjustment.kind": {"reduction": "Réduction", "extension": "Allongement"},
}
STATUS_LABELS = {
    "new": "nouveau", "signed": "signé", "transmitted": "transmis à l'OPCO", "accepted": "pris en charge par l'OPCO",
    "refused": "prise en charge refusée", "deposited": "déposé", "ruptured": "rompu", "completed": "terminé",
    "cancelled": "annulé",
}
# Amounts in euros (a Decimal alone may be hours or years): model.field.
MONEY = {"PayLine.gross_monthly", "BenefitsInKind.food_per_meal", "BenefitsInKind.housing_per_month"}
PERCENT = {"PayLine.pct"}
# Codes of the notice's lists (contract_events.cerfa_codes): the field (model.field) -> the lists
# to look the code up in, in order (a diploma of an older revision keeps its label).
CODE_LISTS: dict[str, tuple[str, ...]] = {
    "Employer.employer_type": ("EMPLOYER_TYPES",),
    "Employer.specific_employer": ("SPECIFIC_EMPLOYERS",),
    "Apprentice.sex": ("SEXES",),
    "Apprentice.nationality": ("NATIONALITIES",),
    "Apprentice.social_scheme": ("SOCIAL_SCHEMES",),
    "Apprentice.situation_before": ("SITUATIONS_BEFORE",),
    "Apprentice.last_diploma_prepared": ("DIPLOMAS", "RETIRED_DIPLOMAS"),
    "Apprentice.last_class": ("LAST_CLASSES",),
    "Apprentice.highest_diploma": ("DIPLOMAS", "RETIRED_DIPLOMAS"),
    "Master.diploma_level": ("DIPLOMA_LEVELS",),
    "Certification.level": ("DIPLOMA_LEVELS",),
    "ContractSection.type": ("CONTRACT_TYPES",),
    "ContractSection.derogations": ("DEROGATIONS",),
}


@dataclass(frozen=True)
class Row:
    """A box of the form: its label and the value written in it ("" when empty). ``group``: a
    heading over the rows that follow at ``depth + 1`` (an address, a contact, the CFA)."""
    label: str
    value: str = ""
    depth: int = 0
    group: bool = False


@dataclass(frozen=True)
class Table:
    """A table of the form (the Rémunération): column headings, then one list of cells a line."""
    columns: list[str]
    lines: list[list[str]]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    table: Table | None = None


@dataclass(frozen=True)
class CerfaForm:
    title: str
    cerfa_number: str
    legal_basis: str
    header: list[Row]            # Parcours' contract id, status, date of signature, OPCO
    sections: list[Section]      # in the official order
    signatures_title: str = SIGNATURES_TITLE
    signatures: tuple[str, ...] = SIGNATURES
    notice: str = NOTICE

    @property
    def document_title(self) -> str:
        contract_id = next((r.value for r in self.header if r.label == _label(SignedV2, "contract_id")), "")
        return f"{self.title} ({self.cerfa_number}) {contract_id}".strip()


def build_form(cerfa: dict[str, Any], *, contract_id: str, status: str | None = None) -> CerfaForm:
    """The form of ``cerfa`` (the CERFA as JSON: ``GET /v1/contracts/{id}/cerfa``, or an upcast
    version 1 document: every box it lacks stays blank)."""
    cerfa = cerfa or {}
    sections: list[Section] = []
    header: list[Row] = [Row(_label(SignedV2, "contract_id"), contract_id),
                         Row("Statut du contrat dans Parcours", STATUS_LABELS.get(status or "", status or ""))]
    contract = cerfa.get("contract") if isinstance(cerfa.get("contract"), dict) else {}
    header.append(Row(_label(Cerfa.model_fields["contract"].annotation, "signed_on"),
                      french_date(contract.get("signed_on"))))
    for name, info in Cerfa.model_fields.items():
        value = cerfa.get(name)
        annotation = _unwrap(info.annotation)
        title = _short(info.description or name)
        if _is_model(annotation):
            sections.extend(_section(title, annotation, value if isinstance(value, dict) else None))
        elif _list_item(annotation) is not None and _is_model(_list_item(annotation)):
            item_model = _list_item(annotation)
            items = [v for v in (value or []) if isinstance(v, dict)]
            count = max(len(items), _max_length(info) or 1)     # the form has a box for each, filled or not
            for i in range(count):
                sections.extend(_section(f"{title} n°{i + 1}", item_model, items[i] if i < len(items) else None))
        else:
            header.append(Row(_label(Cerfa, name), _display(Cerfa, name, annotation, value)))
    return CerfaForm(TITLE, CERFA_NUMBER, LEGAL_BASIS, header, sections)


# -- walking the model ------------------------------------------------------------------------

def _section(title: str, model: type[BaseModel], data: dict[str, Any] | None) -> list[Section]:
    """The section of ``model`` and, after it, a table section for each list of models it holds
    (LE CONTRAT, then its Rémunération)."""
    rows: list[Row] = []
    tables: list[Section] = []
    present = data is not None
    data = data or {}
    for name, info in model.model_fields.items():
        annotation = _unwrap(info.annotation)
        item = _list_item(annotation)
        if item is not None and _is_model(item):
            tables.append(Section(_label(model, name), table=_table(item, data.get(name))))
        else:
            rows.extend(_rows(model, name, annotation, _value(info, data.get(name)) if present else None, 0))
    return [Section(title, rows), *tables]


def _rows(model: type[BaseModel], name: str, annotation: Any, value: Any, depth: int) -> list[Row]:
    label = _label(model, name)
    if _is_model(annotation):
        data = value if isinstance(value, dict) else {}
        out = [Row(label, "", depth, group=True)]
        for child, info in annotation.model_fields.items():
            child_value = _value(info, data.get(child)) if isinstance(value, dict) else None
            out.extend(_rows(annotation, child, _unwrap(info.annotation), child_value, depth + 1))
        return out
    return [Row(label, _display(model, name, annotation, value), depth)]


def _table(model: type[BaseModel], value: Any) -> Table:
    names = list(model.model_fields)
    lines = [[_display(model, n, _unwrap(model.model_fields[n].annotation), item.get(n)) for n in names]
             for item in (value or []) if isinstance(item, dict)]
    return Table([_short(_label(model, n)) for n in names], lines)


def _value(info: Any, value: Any) -> Any:
    """A box left out of the JSON: a yes/no box the model defaults to ``False`` reads Non (the
    model's default is what was signed); every other one stays blank."""
    if value is None and isinstance(info.default, bool):
        return info.default
    return value


def _label(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    return info.description or FALLBACK_LABELS.get(model.__name__, {}).get(name) or name


def labels() -> dict[str, str]:
    """Every box of the form, as a dotted path (``employer.address.postal_code``; a list's items
    ``masters[]``) -> its label: the model's descriptions, walked recursively."""
    out: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            out[path] = _label(model, name)
            annotation = _unwrap(info.annotation)
            item = _list_item(annotation)
            if _is_model(annotation):
                walk(annotation, path + ".")
            elif item is not None and _is_model(item):
                walk(item, path + "[].")
    walk(Cerfa, "")
    return out


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _list_item(annotation: Any) -> Any:
    return _unwrap(typing.get_args(annotation)[0]) if typing.get_origin(annotation) is list else None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _max_length(info: Any) -> int | None:
    return next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)


def _short(label: str) -> str:
    """A label without its trailing note in parentheses (a column heading, a section title)."""
    head, sep, _ = label.partition(" (")
    return head if sep and head else label


# -- values -----------------------------------------------------------------------------------

def _display(model: type[BaseModel], name: str, annotation: Any, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    key = f"{model.__name__}.{name}"
    item = _list_item(annotation)
    if item is not None:
        return "; ".join(_display(model, name, item, v) for v in value if v not in (None, ""))
    if key in CODE_LISTS:
        return code(CODE_LISTS[key], value)
    if key in VALUE_LABELS:
        return VALUE_LABELS[key].get(str(value), str(value))
    if annotation is bool or isinstance(value, bool):
        return yes_no(value)
    if annotation is date:
        return french_date(value)
    if key in MONEY:
        return euros(value)
    if key in PERCENT:
        return f"{number(value)} %"
    if annotation is Decimal or isinstance(value, float):
        return number(value)
    if typing.get_origin(annotation) is Literal:
        return str(value)
    return str(value)


def code(lists: tuple[str, ...] | str, value: Any) -> str:
    """``11 – <label>`` from the first of the notice's ``lists`` (contract_events.cerfa_codes)
    that knows the code; the code alone when none does."""
    text = str(value)
    for name in (lists,) if isinstance(lists, str) else lists:
        label = _code_label(name, text)
        if label:
            return f"{text} {DASH} {label}"
    return text


def _code_label(list_name: str, value: str) -> str | None:
    codes = getattr(cerfa_codes, list_name, None)
    if not isinstance(codes, dict) or value not in codes:
        return None
    found = cerfa_codes.label(codes, value)
    return found if found and found != value else None


def yes_no(value: Any) -> str:
    return "" if value is None else ("Oui" if value else "Non")


def number(value: Any) -> str:
    """A decimal number the French way: ``12,5``; ``1 350`` (thin space) for thousands."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if amount == amount.to_integral_value():
        text = f"{int(amount):,}"
    else:
        text = f"{amount.normalize():,f}"
    return text.replace(",", "\u202f").replace(".", ",")


