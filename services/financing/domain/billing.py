"""The money loop (docs/billing.md): invoices and their credit notes, payments, regularisations.

Each is an event-sourced aggregate of the financing store: its state is the fold of its stream's
events (``invoice-<id>``, ``payment-<id>``, ``regularisation-<contract>:<year>:<advance>``), the
same fold whether a command loads it, the projection stores it, a rebuild replays it or ``as_of``
asks what was known then. Money is Decimal, travelling as strings with two decimals. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

ZERO = Decimal("0.00")

# Invoice statuses: issued -> accepted | rejected; issued | accepted -> cancelled (a credit note)
# while nothing is paid. Rejected and cancelled invoices free their advances, fees and regularisations.
ACTIVE = ("issued", "accepted")
REJECTION_MOTIVES = ("amount_incorrect", "certificate_invalid", "certificate_missing", "contract_unknown",
                     "duplicate", "not_due", "other")
CERTIFICATE_KINDS = ("realisation", "start_attestation", "completion_attestation")
CERTIFICATE_SCOPES = ("intermediate", "final")

INVOICE_EVENTS = ("invoice.issued", "invoice.certificate_attached", "invoice.accepted", "invoice.rejected",
                  "invoice.cancelled", "payment.allocated")
PAYMENT_EVENTS = ("payment.recorded",)
REGULARISATION_EVENTS = ("regularisation.proposed", "regularisation.settled")
EVENT_TYPES = INVOICE_EVENTS + PAYMENT_EVENTS + REGULARISATION_EVENTS


def money(value: Decimal | str | int) -> str:
    return f"{Decimal(value):.2f}"


def invoice_stream(invoice_id: str) -> str:
    return f"invoice-{invoice_id}"


def payment_stream(payment_id: str) -> str:
    return f"payment-{payment_id}"


def regularisation_stream(contract_id: str, funding_year: int, advance: int) -> str:
    return f"regularisation-{contract_id}:{funding_year}:{advance}"


def ledger_key(cfa_uai: str, opco: str) -> str:
    """The account of one CFA with one OPCO: every money event names it (and is keyed by it on
    ``financing.events``, so one account's events stay in order)."""
    return f"{cfa_uai}:{opco}"


def document_number(prefix: str, cfa_uai: str, year: int, number: int) -> str:
    """``F-0751234J-2025-00001`` (invoice) or ``A-...`` (credit note): one gap-free sequence of
    documents per CFA and calendar year (Code de commerce, article R123-237; CGI annexe II, 242 nonies A)."""
    return f"{prefix}-{cfa_uai}-{year}-{number:05d}"


AdvanceKey = tuple[str, int, int]   # (contract_id, funding_year, advance)


@dataclass(frozen=True)
class Line:
    kind: str                       # advance, fee, regularisation
    amount: Decimal                 # negative for a regularisation netted
    contract_id: str
    funding_year: int | None = None
    advance: int | None = None
    claim_id: str | None = None
    regularisation_id: str | None = None
    label: str = ""
    employer_contribution: Decimal | None = None

    @property
    def key(self) -> AdvanceKey | None:
        return (self.contract_id, self.funding_year, self.advance) if self.kind == "advance" else None

    def as_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "contract_id": self.contract_id, "funding_year": self.funding_year,
             "advance": self.advance, "amount": money(self.amount), "label": self.label}
        if self.claim_id:
            d["claim_id"] = self.claim_id
        if self.regularisation_id:
            d["regularisation_id"] = self.regularisation_id
        if self.employer_contribution is not None:
            d["employer_contribution"] = money(self.employer_contribution)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        return cls(d["kind"], Decimal(d["amount"]), d["contract_id"], d.get("funding_year"), d.get("advance"),
                   d.get("claim_id"), d.get("regularisation_id"), d.get("label", ""),
                   Decimal(d["employer_contribution"]) if d.get("employer_contribution") else None)


@dataclass(frozen=True)
class Certificate:
    """A certificat de réalisation (intermediate or final) or an attestation (start of training,
    completion), naming the échéance it covers: the contract, funding year and advance."""
    certificate_id: str
    kind: str
    scope: str
    contract_id: str
    funding_year: int
    advance: int
    period_start: date
    period_end: date
    hours: Decimal
    reference: str
    attached_on: date

    def covers(self, key: AdvanceKey) -> bool:
        return (self.contract_id, self.funding_year, self.advance) == key

    def as_dict(self) -> dict[str, Any]:
        return {"certificate_id": self.certificate_id, "kind": self.kind, "scope": self.scope,
                "contract_id": self.contract_id, "funding_year": self.funding_year, "advance": self.advance,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "hours": f"{self.hours:f}", "reference": self.reference, "attached_on": self.attached_on.isoformat()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        return cls(d["certificate_id"], d["kind"], d["scope"], d["contract_id"], d["funding_year"], d["advance"],
                   date.fromisoformat(d["period_start"]), date.fromisoformat(d["period_end"]), Decimal(d["hours"]),
                   d["reference"], date.fromisoformat(d["attached_on"]))


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    number: str
    cfa_uai: str
    cfa_siret: str | None
    opco: str
    issued_on: date
    payment_due_on: date
    lines: tuple[Line, ...]
    status: str = "issued"
    certificates: tuple[Certificate, ...] = ()
    allocations: tuple[dict, ...] = ()          # {payment_id, amount, paid_on}
    decided_on: date | None = None
    motive: str | None = None
    comment: str | None = None
    credit_note: dict | None = None             # {number, issued_on, reason, total}
    version: int = 0

    @property
    def total(self) -> Decimal:
        return sum((l.amount for l in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((Decimal(a["amount"]) for a in self.allocations), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.paid if self.status in ACTIVE else ZERO

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def payment_status(self) -> str:
        if self.paid == 0:
            return "unpaid"
        return "paid" if self.paid >= self.total else "partly_paid"

    def advance_keys(self) -> list[AdvanceKey]:
        return [l.key for l in self.lines if l.key]

    def paid_by_line(self) -> list[Decimal]:
        """What the payments cover of each line, in line order (regularisations net first)."""
        left = self.paid + sum((-l.amount for l in self.lines if l.amount < 0), ZERO)
        out = []
        for line in self.lines:
            if line.amount < 0:
                out.append(line.amount)
                continue
            part = min(line.amount, max(left, ZERO))
            out.append(part)
            left -= part
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"invoice_id": self.invoice_id, "number": self.number, "cfa_uai": self.cfa_uai,
                "cfa_siret": self.cfa_siret, "opco": self.opco, "issued_on": self.issued_on.isoformat(),
                "payment_due_on": self.payment_due_on.isoformat(), "status": self.status,
                "payment_status": self.payment_status, "total": money(self.total), "paid": money(self.paid),
                "outstanding": money(self.outstanding), "currency": "EUR",
                "lines": [l.as_dict() for l in self.lines],
                "certificates": [c.as_dict() for c in self.certificates],
                "allocations": [dict(a) for a in self.allocations],
                "decided_on": self.decided_on.isoformat() if self.decided_on else None,
                "motive": self.motive, "comment": self.comment, "credit_note": self.credit_note,
                "version": self.version}


@dataclass(frozen=True)
class Payment:
    payment_id: str
    opco: str
    cfa_uai: str
    amount: Decimal
    paid_on: date
    bank_reference: str
    allocations: tuple[dict, ...] = ()         # {invoice_id, amount}
    version: int = 0

    @property
    def allocated(self) -> Decimal:
        return sum((Decimal(a["amount"]) for a in self.allocations), ZERO)

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated

    def as_dict(self) -> dict[str, Any]:
        return {"payment_id": self.payment_id, "opco": self.opco, "cfa_uai": self.cfa_uai,
                "amount": money(self.amount), "paid_on": self.paid_on.isoformat(),
                "bank_reference": self.bank_reference, "allocations": [dict(a) for a in self.allocations],
                "allocated": money(self.allocated), "unallocated": money(self.unallocated)}


@dataclass(frozen=True)
class Regularisation:
    """An advance invoiced above what is now due for it (a rupture, an amendment or a new NPEC
    shrank its funding year): the difference is owed back, netted on the CFA's next invoice to the
    same OPCO (``settled``)."""
    regularisation_id: str
    contract_id: str
    funding_year: int
    advance: int
    cfa_uai: str
    opco: str
    amount: Decimal
    invoiced: Decimal
    due_now: Decimal
    invoice_id: str
    reason: str
    caused_by: tuple[dict, ...]
    proposed_on: date
    settled_by: str | None = None
    settled_on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"regularisation_id": self.regularisation_id, "contract_id": self.contract_id,
                "funding_year": self.funding_year, "advance": self.advance, "cfa_uai": self.cfa_uai,
                "opco": self.opco, "amount": money(-self.amount), "invoiced": money(self.invoiced),
                "due_now": money(self.due_now), "invoice_id": self.invoice_id, "reason": self.reason,
                "caused_by": [dict(c) for c in self.caused_by], "proposed_on": self.proposed_on.isoformat(),
                "status": "settled" if self.settled_by else "proposed", "settled_by": self.settled_by,
                "settled_on": self.settled_on.isoformat() if self.settled_on else None}


# -- folds ----------------------------------------------------------------------------------------
def fold_invoice(events: Iterable[tuple[str, dict]]) -> Invoice | None:
    inv: Invoice | None = None
    for event_type, d in events:
        if event_type == "invoice.issued":
            inv = Invoice(d["invoice_id"], d["number"], d["cfa_uai"], d.get("cfa_siret"), d["opco"],
                          date.fromisoformat(d["issued_on"]), date.fromisoformat(d["payment_due_on"]),
                          tuple(Line.from_dict(l) for l in d["lines"]))
        elif inv is None:
            continue
        elif event_type == "invoice.certificate_attached":
            inv = replace(inv, certificates=inv.certificates + (Certificate.from_dict(d["certificate"]),))
        elif event_type == "invoice.accepted":
            inv = replace(inv, status="accepted", decided_on=date.fromisoformat(d["decided_on"]))
        elif event_type == "invoice.rejected":
            inv = replace(inv, status="rejected", decided_on=date.fromisoformat(d["decided_on"]),
                          motive=d["motive"], comment=d.get("comment"))
        elif event_type == "invoice.cancelled":
            inv = replace(inv, status="cancelled", credit_note={
                "number": d["credit_note_number"], "issued_on": d["cancelled_on"], "reason": d["reason"],
                "total": money(-Decimal(d["credit_note_total"]))})
        elif event_type == "payment.allocated":
            inv = replace(inv, allocations=inv.allocations + (
                {"payment_id": d["payment_id"], "amount": d["amount"], "paid_on": d["paid_on"]},))
        inv = replace(inv, version=inv.version + 1)
    return inv


def fold_payment(events: Iterable[tuple[str, dict]]) -> Payment | None:
    p: Payment | None = None
    for event_type, d in events:
        if event_type == "payment.recorded":
            p = Payment(d["payment_id"], d["opco"], d["cfa_uai"], Decimal(d["amount"]),
                        date.fromisoformat(d["paid_on"]), d["bank_reference"], tuple(d.get("allocations", ())))
        elif p is not None and event_type == "payment.allocated":
            p = replace(p, allocations=p.allocations + ({"invoice_id": d["invoice_id"], "amount": d["amount"]},))
        if p is not None:
            p = replace(p, version=p.version + 1)
    return p


def fold_regularisations(events: Iterable[tuple[str, dict]]) -> list[Regularisation]:
    """One stream holds every regularisation of one advance (it may shrink more than once)."""
    out: dict[str, Regularisation] = {}
    for event_type, d in events:
        if event_type == "regularisation.proposed":
            out[d["regularisation_id"]] = Regularisation(
                d["regularisation_id"], d["contract_id"], d["funding_year"], d["advance"], d["cfa_uai"], d["opco"],
                Decimal(d["amount"]), Decimal(d["invoiced"]), Decimal(d["due_now"]), d["invoice_id"], d["reason"],
                tuple(d.get("caused_by", ())), date.fromisoformat(d["proposed_on"]))
        elif event_type == "regularisation.settled" and d["regularisation_id"] in out:
            out[d["regularisation_id"]] = replace(out[d["regularisation_id"]], settled_by=d["invoice_id"],
                                                  settled_on=date.fromisoformat(d["settled_on"]))
    return list(out.values())


# -- rules ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdvanceNow:
    """An advance as the funding projection computes it now, with what billing needs of it."""
    contract_id: str
    funding_year: int
    advance: int
    opco: str | None
    cfa_uai: str | None
    cfa_siret: str | None
    amount: Decimal
    due_on: date
    latest_on: date | None
    needs_completion_attestation: bool
    employer_contribution: Decimal | None = None

    @property
    def key(self) -> AdvanceKey:
        return (self.contract_id, self.funding_year, self.advance)


@dataclass
class Problems:
    """Every rule a command breaks, each with the field it concerns (all reported at once)."""
    items: list[dict] = field(default_factory=list)

    def add(self, field_: str, code: str, message: str, **extra: Any) -> None:
        self.items.append({"field": field_, "code": code, "message": message, **extra})

    def __bool__(self) -> bool:
        return bool(self.items)


def advance_status(amount: Decimal, due_on: date, latest_on: date | None, invoiced: Decimal | None, paid: Decimal,
                   today: date) -> str:
    """upcoming, due, not_due (the R2025 balance past its 4 months), invoiced, partly_paid, paid,
    overpaid (paid above what the advance is now, until a regularisation nets the difference).
    ``invoiced`` and ``paid``: net of the regularisations settled on the advance (None: not invoiced)."""
    if invoiced is None:
        if latest_on is not None and latest_on < today:
            return "not_due"
        return "due" if due_on <= today else "upcoming"
    if paid > amount:
        return "overpaid"
    if paid <= 0:
        return "invoiced"
    return "paid" if paid >= invoiced else "partly_paid"


def advance_problems(index: int, requested: AdvanceKey, amount: Decimal | None, a: AdvanceNow | None, opco: str,
                     already: bool, today: date, completion_attested: bool, problems: Problems) -> Decimal | None:
    """Checks one advance asked for on an invoice; returns the amount to invoice (None: refused)."""
    where = f"lines[{index}]"
    if a is None:
        problems.add(where, "advance_unknown", "No such advance for this CFA (see /v1/financing/invoiceable).")
        return None
    start = len(problems.items)
    if a.opco != opco:
        problems.add(f"{where}.contract_id", "invoice_mixed_opco",
                     f"This advance is owed by {a.opco}, not {opco}: one invoice is addressed to one OPCO.")
    if already:
        problems.add(where, "advance_already_invoiced", "This advance is on an invoice already (cancel it first).")
    if a.due_on > today:
        problems.add(where, "advance_not_due_yet", f"This advance falls due on {a.due_on.isoformat()}.")
    if a.latest_on is not None and a.latest_on < today:
        problems.add(where, "advance_past_deadline",
                     f"The balance had to be invoiced by {a.latest_on.isoformat()} (4 months after the end); "
                     "it is no longer due.")
    if a.needs_completion_attestation and not completion_attested:
        problems.add(f"{where}.certificates", "certificate_missing",
                     "The balance of an R2025 funding year is paid on the completion attestation: attach it.")
    if a.amount <= 0:
        problems.add(where, "advance_nothing_due", "Nothing is due on this advance now.")
    if amount is not None and amount > a.amount:
        problems.add(f"{where}.amount", "invoice_above_due",
                     f"At most {money(a.amount)} is due on this advance now.", due=money(a.amount))
    if len(problems.items) > start:
        return None
    return a.amount if amount is None else amount


def net_regularisations(total: Decimal, open_ones: list[Regularisation]) -> list[Regularisation]:
    """The open regularisations an invoice of ``total`` nets, oldest first, while it stays >= 0
    (the rest waits for the next invoice)."""
    chosen = []
    for r in sorted(open_ones, key=lambda r: (r.proposed_on, r.regularisation_id)):
        if r.amount <= total:
            chosen.append(r)
            total -= r.amount
    return chosen


def overshoot(invoiced: Decimal, due_now: Decimal, regularised: Decimal) -> Decimal:
    """What an advance was invoiced above what is due on it now, less what was regularised already."""
    return max(invoiced - due_now - regularised, ZERO)


# -- an account (one CFA with one OPCO), folded ----------------------------------------------------
@dataclass
class Ledger:
    """Every invoice, payment and regularisation of some accounts, folded from their events (any
    objects with ``stream_id``, ``type``, ``data``, ``recorded_at`` and ``position``)."""
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    regularisations: dict[str, Regularisation] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)        # stream -> version
    issued: dict[str, Any] = field(default_factory=dict)          # invoice id -> its issue event

    def valid(self, r: Regularisation) -> bool:
        """A regularisation stands while the invoice it corrects does (cancelling or rejecting that
        invoice removes the overshoot itself)."""
        source = self.invoices.get(r.invoice_id)
        return source is not None and source.active

    def settled(self, r: Regularisation) -> bool:
        by = self.invoices.get(r.settled_by or "")
        return by is not None and by.active

    def open_regularisations(self, cfa_uai: str | None = None, opco: str | None = None) -> list[Regularisation]:
        return [r for r in self.regularisations.values() if self.valid(r) and not self.settled(r)
                and (cfa_uai is None or r.cfa_uai == cfa_uai) and (opco is None or r.opco == opco)]

    def regularised(self, settled_only: bool = False) -> dict[AdvanceKey, Decimal]:
        """What the standing regularisations (only those netted already, with ``settled_only``)
        take off each advance."""
        out: dict[AdvanceKey, Decimal] = {}
        for r in self.regularisations.values():
            if self.valid(r) and (not settled_only or self.settled(r)):
                key = (r.contract_id, r.funding_year, r.advance)
                out[key] = out.get(key, ZERO) + r.amount
        return out

    def billed(self) -> dict[AdvanceKey, tuple[Invoice, Line, Decimal]]:
        """Each advance on an active invoice: the invoice, its line, what payments cover of it."""
        out = {}
        for inv in self.invoices.values():
            if inv.active:
                for line, paid in zip(inv.lines, inv.paid_by_line()):
                    if line.key:
                        out[line.key] = (inv, line, paid)
        return out

    def billed_claims(self) -> set[str]:
        return {l.claim_id for inv in self.invoices.values() if inv.active for l in inv.lines if l.claim_id}


def fold_ledger(events: Iterable[Any]) -> Ledger:
    by_stream: dict[str, list[Any]] = {}
    for e in events:
        by_stream.setdefault(e.stream_id, []).append(e)
    ledger = Ledger()
    for stream, evs in by_stream.items():
        ledger.versions[stream] = len(evs)
        pairs = [(e.type, e.data) for e in evs]
        if stream.startswith("invoice-"):
            inv = fold_invoice(pairs)
            if inv is not None:
                ledger.invoices[inv.invoice_id] = inv
                ledger.issued[inv.invoice_id] = evs[0]
        elif stream.startswith("payment-"):
            p = fold_payment(pairs)
            if p is not None:
                ledger.payments[p.payment_id] = p
        elif stream.startswith("regularisation-"):
            for r in fold_regularisations(pairs):
                ledger.regularisations[r.regularisation_id] = r
    return ledger
