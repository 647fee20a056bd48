"""Frais annexes (D6332-87, docs/financing.md section 7): what a claim may be, and on which advance
invoice it is billed. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.financing.domain import policy as p
from services.financing.domain.spans import Span, responsible_on

UNIT = {"meal": p.MEAL, "night": p.NIGHT, "boarding_day": p.BOARDING_DAY}


@dataclass(frozen=True)
class Claim:
    kind: str
    day: date
    quantity: int
    amount: Decimal | None


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def decide(claim: Claim, spans: list[Span], claimed: list[tuple[str, date]]) -> tuple[Span | None, Decimal | None, Refusal | None]:
    """The span billed, the amount, or why the claim is refused. ``claimed``: (kind, day) already
    claimed on this apprentice's path."""
    span = responsible_on(spans, claim.day)
    if span is None:
        return None, None, Refusal("fee_outside_funded_span", "No funded span covers this day: frais annexes are "
                                                             "paid only for time in a funded contract.")
    if span.status != "funded":
        return span, None, Refusal("fee_span_not_funded", "The contract covering this day is not funded.")
    if claim.kind == "first_equipment":
        if any(k == "first_equipment" for k, _ in claimed):
            return span, None, Refusal("fee_duplicate", "First equipment is paid once per apprentice path.")
        if claim.amount is None or claim.amount > p.FIRST_EQUIPMENT_CAP:
            return span, None, Refusal("fee_above_cap", f"First equipment is at most {p.FIRST_EQUIPMENT_CAP} EUR.")
        return span, claim.amount, None
    if (claim.kind, claim.day) in claimed:
        return span, None, Refusal("fee_duplicate", f"A {claim.kind} claim exists already for {claim.day}.")
    if claim.quantity > p.FEES_PER_DAY[claim.kind]:
        return span, None, Refusal("fee_above_cap", f"At most {p.FEES_PER_DAY[claim.kind]} {claim.kind} a day.")
    if claim.kind == "boarding_day" and ("meal", claim.day) in claimed or \
            claim.kind == "meal" and ("boarding_day", claim.day) in claimed:
        return span, None, Refusal("fee_boarding_and_meals", "A boarding day already includes lunch and dinner.")
    if claim.kind == "mobility":
        if claim.amount is None:
            return span, None, Refusal("fee_amount_required", "Mobility is the OPCO's flat amount: give it.")
        return span, claim.amount, None
    cap = UNIT[claim.kind] * claim.quantity
    if claim.amount is not None and claim.amount > cap:
        return span, None, Refusal("fee_above_cap", f"{claim.quantity} {claim.kind} is at most {cap} EUR.")
    return span, claim.amount if claim.amount is not None else cap, None


def invoice_for(kind: str, day: date, schedule: list[dict]) -> dict | None:
    """The advance invoice a fee goes on: meals and nights from the second advance on, first
    equipment on the first or second, others on the next one due."""
    ordered = sorted(schedule, key=lambda a: (a["due_on"], a["funding_year"], a["advance"]))
    if kind in ("meal", "night", "boarding_day"):
        ordered = [a for a in ordered if a["funding_year"] > 1 or a["advance"] >= p.DAILY_FEES_FROM_ADVANCE]
    elif kind == "first_equipment":
        ordered = [a for a in ordered if a["funding_year"] == 1 and a["advance"] <= p.FIRST_EQUIPMENT_BY_ADVANCE]
    later = [a for a in ordered if a["due_on"] >= day.isoformat()]
    chosen = (later or ordered[-1:] or [None])[0]
    return None if chosen is None else {"funding_year": chosen["funding_year"], "advance": chosen["advance"]}
