"""The legal checks run on signature and on amendment (docs/domain.md, "Checks at signature and
at amendment"). Pure: the reference tables come in as ``References``, the thresholds from
legal.py. Every failure is a Violation with a stable code and, for legal rules, its article;
derogation codes lift the rules they name."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.contracts.domain.calendar import age_on, first_of_month_after_birthday
from services.contracts.domain.identifiers import idcc_ok, rncp_ok, siret_ok, uai_ok
from services.contracts.domain.legal import (DAYS_A_YEAR, DEROGATION_LIFTS, GRID_LAST_CONTRACT_YEAR,
                                             LEGAL_WEEKLY_HOURS, LEGAL_YEARLY_HOURS, MASTER_MIN_AGE, MAX_AGE,
                                             MAX_AGE_SUCCESSOR, MAX_DURATION_MONTHS, MAX_DURATION_MONTHS_RQTH,
                                             MIN_AGE, MIN_AGE_LOWER_SECONDARY_DONE, MIN_DURATION_MONTHS,
                                             MIN_TRAINING_SHARE, REMUNERATION_AGE_STEPS, REMUNERATION_ANNIVERSARIES,
                                             SUCCESSOR_WINDOW_MONTHS)
from contract_events.signed import ContractTerms
from kernel.months import add_months


@dataclass(frozen=True)
class Violation:
    field: str
    code: str
    message: str
    article: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class References:
    idcc_opco: dict[str, str]
    smic: list[tuple[date, Decimal]]           # (in force from, monthly gross), oldest first
    grid: list[dict[str, str]]                 # remuneration_grid.csv rows


@dataclass(frozen=True)
class Occupied:
    """The days another contract holds its apprentice: from its start to its last day, both
    included. ``contract_id`` is None when the signing key may not see that contract (another
    CFA's): the refusal then gives its days only."""
    contract_id: str | None
    start: date
    end: date


@dataclass(frozen=True)
class Context:
    """What the checks need beyond the terms: the previous contract of a successor, and the days
    the apprentice's other live contracts hold (checked on signature)."""
    previous_end: date | None = None
    previous_ruptured: bool = False
    extra_lifted: frozenset[str] = field(default_factory=frozenset)
    occupied: tuple[Occupied, ...] = ()


NOT_LIVE_STATUSES = ("cancelled", "refused")   # such a contract holds no day of its apprentice


def occupied(contract_id: str | None, state: dict[str, Any]) -> Occupied | None:
    """The days a contract (its folded state, ``ContractState.as_dict()``) holds its apprentice,
    None when it holds none: cancelled or refused; a ruptured contract up to its rupture date (the
    post-rupture training that may follow is training, not a contract: a successor may start the
    next day); a completed one up to its end; any other up to its planned end."""
    if state["status"] in NOT_LIVE_STATUSES:
        return None
    terms = state["terms"]
    last = {"ruptured": state.get("ruptured_on"), "completed": state.get("ended_on")}.get(state["status"])
    start, end = date.fromisoformat(terms["start_date"]), date.fromisoformat(last or terms["planned_end_date"])
    return None if end < start else Occupied(contract_id, start, end)


def normalise_idcc(idcc: str) -> str:
    s = idcc.strip()
    return str(int(s)) if s.isdigit() else s


def check_contract(t: ContractTerms, refs: References, ctx: Context = Context()) -> tuple[str | None, list[Violation]]:
    """The OPCO to record and every violated rule not lifted by a derogation."""
    opco, out = _opco(t, refs.idcc_opco)
    out += _dates(t) + _duration(t, ctx) + _age(t, ctx) + _identifiers(t) + _master(t)
    out += _training_time(t) + _remuneration(t, refs) + _overlap(t, ctx)
    lifted = set(ctx.extra_lifted)
    for code in t.derogation_codes:
        lifted |= DEROGATION_LIFTS.get(code, set())
    return opco, [v for v in out if v.code not in lifted]


def _opco(t: ContractTerms, table: dict[str, str]) -> tuple[str | None, list[Violation]]:
    expected = table.get(normalise_idcc(t.employer.idcc))
    if t.opco is None:
        if expected is None:
            return None, [Violation("opco", "opco_unknown_for_idcc",
                                    f"IDCC {t.employer.idcc} is not in the IDCC-OPCO table: give the OPCO.")]
        return expected, []
    if expected is not None and t.opco != expected:
        return t.opco, [Violation("opco", "opco_inconsistent_with_idcc",
                                  f"IDCC {t.employer.idcc} belongs to {expected}, not {t.opco}.")]
    return t.opco, []


def _dates(t: ContractTerms) -> list[Violation]:
    out = []
    if t.planned_end_date <= t.start_date:
        out.append(Violation("planned_end_date", "end_not_after_start",
                             "The planned end date must be after the start date."))
    if t.signed_on > t.start_date:
        out.append(Violation("signed_on", "signed_after_start",
                             "The contract must be signed on or before its start date."))
    if t.training_started_on and t.training_started_on > t.start_date:
        out.append(Violation("training_started_on", "training_started_after_start",
                             "Pre-contract training cannot start after the contract."))
    return out


def _duration(t: ContractTerms, ctx: Context) -> list[Violation]:
    if t.planned_end_date <= t.start_date:
        return []
    out, adj = [], t.duration_adjustment
    min_end = add_months(t.start_date, MIN_DURATION_MONTHS) - timedelta(days=1)
    short_ok = (adj is not None and adj.kind == "reduction") or ctx.previous_ruptured \
        or t.apprentice.high_level_athlete
    if t.planned_end_date < min_end and not short_ok:
        out.append(Violation("planned_end_date", "duration_too_short",
                             f"A contract lasts at least {MIN_DURATION_MONTHS} months (ends on or after "
                             f"{min_end.isoformat()}).", "L6222-7-1"))
    max_months = MAX_DURATION_MONTHS_RQTH if t.apprentice.rqth else MAX_DURATION_MONTHS
    max_end = add_months(t.start_date, max_months) - timedelta(days=1)
    long_ok = (adj is not None and adj.kind == "extension") or t.apprentice.high_level_athlete
    if t.planned_end_date > max_end and not long_ok:
        out.append(Violation("planned_end_date", "duration_too_long",
                             f"A contract lasts at most {max_months // 12} years (ends on or before "
                             f"{max_end.isoformat()}).", "L6222-7-1"))
    return out


def _overlap(t: ContractTerms, ctx: Context) -> list[Violation]:
    """One apprentice, one contract at a time: the apprenticeship contract binds the apprentice
    to an employer (L6221-1). The law's only two-employer case, seasonal activities (L6222-5-1),
    is one contract concluded jointly by both employers, not two contracts: nothing to lift."""
    last = max(t.start_date, t.planned_end_date)
    return [Violation("apprentice.id", "overlapping_contract",
                      f"The apprentice is already under {_named(o)} from {o.start.isoformat()} to "
                      f"{o.end.isoformat()}: a second contract cannot cover the same days.", "L6221-1")
            for o in ctx.occupied if o.start <= last and t.start_date <= o.end]


def _named(o: Occupied) -> str:
    return f"contract {o.contract_id}" if o.contract_id else "another CFA's contract"


def _age(t: ContractTerms, ctx: Context) -> list[Violation]:
    a = t.apprentice
    age = age_on(a.birth_date, t.start_date)
    out = []
    minimum = MIN_AGE_LOWER_SECONDARY_DONE if a.lower_secondary_completed else MIN_AGE
    if age < minimum:
        out.append(Violation("apprentice.birth_date", "apprentice_too_young",
                             f"The apprentice must be at least {minimum} at the start (is {age}).", "L6222-1"))
    if a.rqth or a.high_level_athlete or a.business_creation_project:
        return out  # L6222-2: no upper age limit
    successor = ctx.previous_end is not None and \
        t.start_date <= add_months(ctx.previous_end, SUCCESSOR_WINDOW_MONTHS)
    limit = MAX_AGE_SUCCESSOR if successor else MAX_AGE
    if age > limit:
        out.append(Violation("apprentice.birth_date", "apprentice_too_old",
                             f"The apprentice must be at most {limit} at the start (is {age}).",
                             "L6222-2" if successor else "L6222-1"))
    return out


def _identifiers(t: ContractTerms) -> list[Violation]:
    out = []
    if not siret_ok(t.employer.siret):
        out.append(Violation("employer.siret", "siret_invalid", "Not a valid SIRET (14 digits, Luhn key)."))
    if t.cfa.siret is not None and not siret_ok(t.cfa.siret):
        out.append(Violation("cfa.siret", "siret_invalid", "Not a valid SIRET (14 digits, Luhn key)."))
    if not uai_ok(t.cfa.uai):
        out.append(Violation("cfa.uai", "uai_invalid", "Not a valid UAI (7 digits and their check letter)."))
    if not rncp_ok(t.certification.rncp):
        out.append(Violation("certification.rncp", "rncp_invalid", "Not an RNCP code (RNCP followed by digits)."))
    if not idcc_ok(t.employer.idcc):
        out.append(Violation("employer.idcc", "idcc_invalid", "Not an IDCC (1 to 4 digits)."))
    return out


def _master(t: ContractTerms) -> list[Violation]:
    if t.master and t.master.birth_date and age_on(t.master.birth_date, t.start_date) < MASTER_MIN_AGE:
        return [Violation("master.birth_date", "master_too_young",
                          "The maître d'apprentissage must be of age at the start.", "L6223-8-1")]
    return []


def required_training_hours(t: ContractTerms) -> int:
    """25 % of the working time: 1 607 h a year prorated by the contract's days (and by the
    weekly hours over 35 when given), rounded half up."""
    days = Decimal((t.planned_end_date - t.start_date).days + 1)
    hours = LEGAL_YEARLY_HOURS * MIN_TRAINING_SHARE * days / DAYS_A_YEAR
    if t.weekly_work_hours:
        hours = hours * t.weekly_work_hours / LEGAL_WEEKLY_HOURS
    return int(hours.quantize(Decimal(1), ROUND_HALF_UP))


def _training_time(t: ContractTerms) -> list[Violation]:
    if t.training_hours is None or t.planned_end_date <= t.start_date:
        return []
    need = required_training_hours(t)
    if t.training_hours < need:
        share = f"{MIN_TRAINING_SHARE * 100:.0f} %"
        return [Violation("training_hours", "training_time_too_low",
                          f"Training must be at least {share} of the working time: {need} h here.", "L6211-2")]
    return []


def _band(grid: list[dict[str, str]], age: int) -> dict[str, str]:
    return next(r for r in grid if int(r["min_age"]) <= age <= int(r["max_age"]))


def minimum_pct(t: ContractTerms, grid: list[dict[str, str]], d: date) -> tuple[Decimal, int]:
    """The minimum % of the SMIC on ``d`` and the contract year: the age band changes on the first
    day of the month after a birthday (D6222-26, D6222-34)."""
    year = 1
    while add_months(t.start_date, 12 * year) <= d:
        year += 1
    birth = t.apprentice.birth_date
    age = age_on(birth, d)
    if age > 0 and d < first_of_month_after_birthday(birth, age):
        age -= 1
    return Decimal(_band(grid, age)[f"year_{min(year, GRID_LAST_CONTRACT_YEAR)}_pct_smic"]), year


def _smic_on(smic: list[tuple[date, Decimal]], d: date) -> Decimal | None:
    found = None
    for since, amount in smic:
        if since <= d:
            found = amount
    return found


def _remuneration(t: ContractTerms, refs: References) -> list[Violation]:
    if not t.remuneration or t.planned_end_date <= t.start_date:
        return []
    starts = sorted(((r.starts_on or add_months(t.start_date, 12 * (r.year - 1)), r.pct_smic)
                     for r in t.remuneration))
    birth = t.apprentice.birth_date
    points = {s for s, _ in starts} | {add_months(t.start_date, 12 * k) for k in range(REMUNERATION_ANNIVERSARIES)}
    points |= {first_of_month_after_birthday(birth, a) for a in REMUNERATION_AGE_STEPS}
    out, reported = [], set()
    for d in sorted(p for p in points if t.start_date <= p <= t.planned_end_date):
        declared = [pct for s, pct in starts if s <= d]
        if not declared:
            continue
        need, year = minimum_pct(t, refs.grid, d)
        if declared[-1] < need and year not in reported:
            reported.add(year)
            smic = _smic_on(refs.smic, d)
            euros = f" ({(smic * need / 100).quantize(Decimal('0.01'), ROUND_HALF_UP)} EUR a month)" if smic else ""
            out.append(Violation("remuneration", "remuneration_below_minimum",
                                 f"From {d.isoformat()} (contract year {year}) the minimum is {need} % of the "
                                 f"SMIC{euros}; {declared[-1]} % declared.", "D6222-26"))
    return out
