"""Amount of each funding year (docs/financing.md section 5). Decimal end to end."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.financing.domain import policy as p
from contract_events.facts import ContractFacts
from services.financing.domain.npec import Npec
from services.financing.domain.records import quick_init
from services.financing.domain.spans import Span
from services.financing.domain.texts import iso_text, money_text
from kernel.months import add_months, months_started


def cents(x: Decimal) -> Decimal:
    return x.quantize(p.CENT, ROUND_HALF_UP)     # the rounding passed by position: half the call's time


@quick_init
@dataclass(frozen=True)
class Line:
    contract_id: str
    apprentice_id: str
    opco: str | None
    cfa_uai: str | None
    funding_year: int
    period_start: date
    period_end: date
    fy_end: date
    units: int
    unit: str
    amount: Decimal | None
    regime: str
    status: str                       # funded, refused, npec_missing
    employer_contribution: Decimal | None = None

    def as_dict(self) -> dict:
        return line_dict(self)


def line_dict(line) -> dict:
    """A funding year as every answer shows it: a computed ``Line`` or a stored one (any object
    with the same attributes)."""
    d = {"contract_id": line.contract_id, "opco": line.opco, "funding_year": line.funding_year,
         "period_start": iso_text[line.period_start], "period_end": iso_text[line.period_end],
         "units": line.units, "unit": line.unit,
         "amount": None if line.amount is None else money_text(line.amount), "regime": line.regime,
         "status": line.status}
    if line.employer_contribution is not None:
        d["employer_contribution"] = money_text(line.employer_contribution)
    return d


_DAY = timedelta(days=1)
_WITH_REDUCTION_UPLIFT = 1 + p.REDUCTION_UPLIFT
_ZERO = Decimal(0)


def funding_years(start: date, end: date) -> list[tuple[int, date, date]]:
    """(k, first day, last day) of each funding year of a span: 12 months from its first day."""
    out, k, year = [], 1, p.FUNDING_YEAR_MONTHS
    fy_start = start
    while fy_start <= end:
        next_start = add_months(start, year * k)
        out.append((k, fy_start, next_start - _DAY))
        k, fy_start = k + 1, next_start
    return out


def annual_level(npec: Decimal, regime: str, remote_80: bool) -> Decimal:
    if regime == "R2025" and remote_80:
        return max(cents(p.REMOTE_SHARE_FACTOR * npec), min(npec, p.REMOTE_FLOOR))
    return npec


def reduced_with_convention(c: ContractFacts) -> bool:
    return c.reduction_with_convention and months_started(c.start_date, c.planned_end_date) < p.SHORT_CONTRACT_MONTHS


def employer_contribution(c: ContractFacts, regime: str, contracts: dict[str, ContractFacts]) -> Decimal | None:
    if regime != "R2025" or (c.level or 0) < p.EMPLOYER_CONTRIBUTION_MIN_LEVEL:
        return None
    previous = contracts.get(c.previous_contract_id or "")
    if previous is not None and previous.ruptured_on is not None:
        return p.EMPLOYER_CONTRIBUTION_AFTER_RUPTURE
    return p.EMPLOYER_CONTRIBUTION


def lines_for(span: Span, c: ContractFacts, npec: Npec, contracts: dict[str, ContractFacts]) -> list[Line]:
    """The funding years of a span. R2019: LEVEL x months started / 12; R2025: LEVEL x days /
    the funding year's days (Decimal divided by the int count: the same quotient as by its Decimal)."""
    regime = p.regime_of(c.signed_on)
    status = span.status if span.status == "refused" else ("npec_missing" if npec.amount is None else "funded")
    level = annual_level(npec.amount, regime, c.remote_80) if npec.amount is not None else None
    uplift = reduced_with_convention(c)
    disability = min(c.disability_uplift, p.DISABILITY_UPLIFT_CAP) if c.disability_uplift else None
    contribution = employer_contribution(c, regime, contracts)
    funded, by_months = status == "funded", regime == "R2019"
    unit = "months" if by_months else "days"
    out = []
    for k, fy_start, fy_end in funding_years(span.start, span.end):
        period_end = fy_end if fy_end < span.end else span.end
        if by_months:
            units, denominator = months_started(fy_start, period_end), p.FUNDING_YEAR_MONTHS
        else:
            units, denominator = (period_end - fy_start).days + 1, (fy_end - fy_start).days + 1
        amount, line_contribution = None, None
        if funded:
            raw = level * units / denominator
            if uplift:
                raw = raw * _WITH_REDUCTION_UPLIFT
            amount = cents(level if level < raw else raw)
            if disability:
                amount += cents(disability * units / denominator)
            if k == 1 and contribution is not None:
                line_contribution = contribution
                amount = max(_ZERO, amount - contribution)
        out.append(Line(c.contract_id, c.apprentice_id, span.opco, c.cfa_uai, k, fy_start, period_end, fy_end,
                        units, unit, amount, regime, status, line_contribution))
    return out
