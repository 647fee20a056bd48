"""An invoice (``Invoice.as_dict()``, services/financing/domain/billing.py) as a printable page: one
self-contained A4 HTML page in French (Jinja2, autoescaped: every label, reason and reference the
CFA typed is escaped), with the mentions a French invoice carries (Code de commerce L441-9 and
R123-237, CGI annexe II 242 nonies A): its number and dates, the issuer and the addressee, the
lines, the totals, the VAT exemption of training (CGI 261-4-4° a), the payment terms, the late
penalties and the 40 € recovery indemnity (L441-10, D441-5); a cancelled invoice shows its credit
note (avoir). Pure: the dict in, the page out."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from kernel.french_format import euros, french_date
from kernel.reference.tables import DATA_DIR

_HERE = Path(__file__).resolve().parent
_TEMPLATES = Environment(loader=FileSystemLoader(_HERE), autoescape=True, undefined=StrictUndefined)
TEMPLATE = "invoice.html"

EMPLOYER_CONTRIBUTION = "Contribution employeur déduite (décret n° 2025-585)"
VAT_EXEMPTION = "TVA non applicable : exonération, article 261-4-4° a du code général des impôts"
LINE_KINDS = {"advance": "Avance", "fee": "Frais annexes", "regularisation": "Régularisation"}
STATUSES = {"issued": "Émise", "accepted": "Acceptée par l'OPCO", "rejected": "Rejetée par l'OPCO",
            "cancelled": "Annulée par avoir"}
PAYMENT_STATUSES = {"unpaid": "Non réglée", "partly_paid": "Partiellement réglée", "paid": "Réglée"}
MOTIVES = {"amount_incorrect": "montant incorrect", "certificate_invalid": "certificat non valable",
           "certificate_missing": "certificat manquant", "contract_unknown": "contrat inconnu",
           "duplicate": "facture en double", "not_due": "montant non exigible", "other": "autre motif"}
CERTIFICATE_KINDS = {"realisation": "Certificat de réalisation",
                     "start_attestation": "Attestation d'entrée en formation",
                     "completion_attestation": "Attestation de fin de formation"}
CERTIFICATE_SCOPES = {"intermediate": "intermédiaire", "final": "final"}


def siret(value: str | None) -> str:
    """``987 654 324 00019`` (SIREN, then NIC); anything else as given; none: ``non renseigné``."""
    if not value:
        return "non renseigné"
    digits = str(value).replace(" ", "")
    if len(digits) == 14 and digits.isdigit():
        return "\u00a0".join((digits[:3], digits[3:6], digits[6:9], digits[9:]))
    return str(value)


@lru_cache
def opco_names() -> dict[str, str]:
    """OPCO code -> its name (kernel/reference/idcc_opco.csv)."""
    with open(DATA_DIR / "idcc_opco.csv", newline="", encoding="utf-8") as fh:
        return {r["opco_code"]: r["opco_name"] for r in csv.DictReader(fh) if r.get("opco_code")}


def opco_name(code: str) -> str:
    """The OPCO's name, or its code when the table does not know it."""
    return opco_names().get(code, code)


# -- the page ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageLine:
    kind: str
    label: str
    contract_id: str
    funding_year: str
    advance: str
    amount: str
    employer_contribution: str | None = None


@dataclass(frozen=True)
class Page:
    title: str
    number: str
    issued_on: str
    payment_due_on: str
    payment_days: int | None
    status: str
    status_detail: str
    cfa_uai: str
    cfa_siret: str
    opco_code: str
    opco_name: str
    lines: list[PageLine]
    total: str
    paid: str
    outstanding: str
    active: bool
    contributions: str | None
    certificates: list[dict[str, str]] = field(default_factory=list)
    payments: list[dict[str, str]] = field(default_factory=list)
    credit_note: dict[str, str] | None = None
    invoice_id: str = ""


def build_page(invoice: dict[str, Any], opco_display_name: str | None = None) -> Page:
    """What the page shows, formatted: the invoice dict as ``Invoice.as_dict()`` gives it."""
    lines = []
    contributions = Decimal(0)
    for line in invoice.get("lines") or []:
        contribution = line.get("employer_contribution")
        if contribution not in (None, ""):
            contributions += Decimal(str(contribution))
        lines.append(PageLine(
            kind=LINE_KINDS.get(line.get("kind", ""), line.get("kind", "")),
            label=line.get("label") or LINE_KINDS.get(line.get("kind", ""), ""),
            contract_id=line.get("contract_id") or "",
            funding_year="" if line.get("funding_year") is None else str(line["funding_year"]),
            advance="" if line.get("advance") is None else str(line["advance"]),
            amount=euros(line.get("amount")),
            employer_contribution=euros(contribution) if contribution not in (None, "") else None))
    status = invoice.get("status", "issued")
    detail = STATUSES.get(status, status)
    if status in ("accepted", "rejected") and invoice.get("decided_on"):
        detail += f" le {french_date(invoice['decided_on'])}"
    if status == "rejected" and invoice.get("motive"):
        detail += f" (motif : {MOTIVES.get(invoice['motive'], invoice['motive'])}"
        detail += f" ; {invoice['comment']})" if invoice.get("comment") else ")"
    if status in ("issued", "accepted"):
        payment = invoice.get("payment_status")
        if payment in PAYMENT_STATUSES:
            detail += f" ; {PAYMENT_STATUSES[payment].lower()}"
    note = invoice.get("credit_note") if status == "cancelled" else None
    code = invoice.get("opco") or ""
    return Page(
        title=f"Facture {invoice.get('number', '')}".strip(),
        number=invoice.get("number", ""),
        issued_on=french_date(invoice.get("issued_on")),
        payment_due_on=french_date(invoice.get("payment_due_on")),
        payment_days=_days(invoice.get("issued_on"), invoice.get("payment_due_on")),
        status=status, status_detail=detail,
        cfa_uai=invoice.get("cfa_uai") or "", cfa_siret=siret(invoice.get("cfa_siret")),
        opco_code=code, opco_name=opco_display_name or opco_name(code),
        lines=lines,
        total=euros(invoice.get("total", "0")), paid=euros(invoice.get("paid", "0")),
        outstanding=euros(invoice.get("outstanding", "0")), active=status in ("issued", "accepted"),
        contributions=euros(contributions) if contributions else None,
        certificates=[{
            "kind": CERTIFICATE_KINDS.get(c.get("kind", ""), c.get("kind", "")),
            "scope": CERTIFICATE_SCOPES.get(c.get("scope", ""), c.get("scope", "")),
            "contract_id": c.get("contract_id", ""), "funding_year": str(c.get("funding_year", "")),
            "advance": str(c.get("advance", "")),
            "period": f"du {french_date(c.get('period_start'))} au {french_date(c.get('period_end'))}",
            "hours": _hours(c.get("hours")), "reference": c.get("reference", ""),
            "attached_on": french_date(c.get("attached_on"))} for c in invoice.get("certificates") or []],
        payments=[{"paid_on": french_date(a.get("paid_on")), "amount": euros(a.get("amount")),
                   "payment_id": a.get("payment_id", "")} for a in invoice.get("allocations") or []],
        credit_note=None if not note else {
            "number": note.get("number", ""), "issued_on": french_date(note.get("issued_on")),
            "reason": note.get("reason", ""), "total": euros(note.get("total"))},
        invoice_id=invoice.get("invoice_id", ""))


def render_invoice_html(invoice: dict[str, Any], opco_display_name: str | None = None) -> str:
    """The invoice as one self-contained A4 page (inline CSS, no script, no external resource)."""
    return _TEMPLATES.get_template(TEMPLATE).render(
        page=build_page(invoice, opco_display_name), employer_contribution=EMPLOYER_CONTRIBUTION,
        vat_exemption=VAT_EXEMPTION)


def _days(start: Any, end: Any) -> int | None:
    try:
        return (date.fromisoformat(str(end)[:10]) - date.fromisoformat(str(start)[:10])).days
    except (TypeError, ValueError):
        return None


def _hours(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{hours:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") + "\u00a0h"
