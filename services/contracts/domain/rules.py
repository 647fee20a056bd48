"""The legal checks run on signature and on amendment (docs/domain.md, "Checks at signature and
at amendment"). Pure: the reference tables come in as ``References``, the thresholds from
legal.py. Every failure is a Violation with a stable code and, for legal rules, its article;
derogation codes lift the rules they name."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from contract_events.cerfa import Cerfa
from contract_events.signed import ContractTerms
from contract_events.upcasting import v1_fields_to_v2
from kernel.months import add_months
from services.contracts.domain import nir as nirs
from services.contracts.domain.calendar import age_on, first_of_month_after_birthday
from services.contracts.domain.identifiers import idcc_ok, rncp_ok, siret_ok, uai_ok
from services.contracts.domain.legal import (DAYS_A_YEAR, DEROGATION_LIFTS, GRID_LAST_CONTRACT_YEAR,
                                             LEGAL_WEEKLY_HOURS, LEGAL_YEARLY_HOURS, MAJORITY_AGE,
                                             MASTER_MAX_APPRENTICES, MASTER_MAX_REPEATING, MASTER_MIN_AGE,
                                             MASTER_YEARS_WITH_DIPLOMA, MASTER_YEARS_WITHOUT_DIPLOMA, MAX_AGE,
                                             MAX_AGE_SUCCESSOR, MAX_DURATION_MONTHS, MAX_DURATION_MONTHS_RQTH,
                                             MIN_AGE, MIN_AGE_LOWER_SECONDARY_DONE, MIN_DURATION_MONTHS,
                                             MIN_TRAINING_SHARE, MINOR_MAX_DAILY_HOURS, MINOR_MAX_WEEKLY_HOURS,
                                             REMUNERATION_AGE_STEPS, REMUNERATION_ANNIVERSARIES,
                                             SIGNATURE_CONTRACT_TYPES, SUCCESSOR_WINDOW_MONTHS)


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
    master_branch: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # IDCC -> R6223-22 years


@dataclass(frozen=True)
class Occupied:
    """The days another contract holds its apprentice: from its start to its last day, both
    included. ``contract_id`` is None when the signing key may not see that contract (another
    CFA's): the refusal then gives its days only."""
    contract_id: str | None
    start: date
    end: date


@dataclass(frozen=True)
class Tutored:
    """A live contract another master follows: its days, and whether it is the extension of a
    training after a failed exam (R6223-6 allows one such apprentice beyond the two)."""
    start: date
    end: date
    repeating: bool


@dataclass(frozen=True)
class Context:
    """What the checks need beyond the terms: the previous contract of a successor, the days the
    apprentice's other live contracts hold, the other live contracts of each master (by the
    master's pseudonymous id), all checked on signature; ``full_cerfa``: the document is a whole
    CERFA (a summary of version 1 has no names, NIR, pay schedule or working time to check)."""
    previous_end: date | None = None
    previous_ruptured: bool = False
    extra_lifted: frozenset[str] = field(default_factory=frozenset)
    occupied: tuple[Occupied, ...] = ()
    tutored: dict[str, tuple[Tutored, ...]] = field(default_factory=dict)
    full_cerfa: bool = False
    pseudonym_key: bytes | None = None    # an avenant's new masters get their ids with it


def as_cerfa(t: Cerfa | ContractTerms) -> Cerfa:
    """The document the checks read: a summary of version 1 read as the CERFA it upcasts to."""
    return t if isinstance(t, Cerfa) else Cerfa.model_validate(v1_fields_to_v2(t.model_dump(mode="json",
                                                                                           exclude_none=True)))


NOT_LIVE_STATUSES = ("cancelled", "refused")   # such a contract holds no day of its apprentice


def occupied(contract_id: str | None, state: dict[str, Any]) -> Occupied | None:
    """The days a contract (its folded state, ``ContractState.as_dict()``) holds its apprentice,
    None when it holds none: cancelled or refused; a ruptured contract up to its rupture date (the
    post-rupture training that may follow is training, not a contract: a successor may start the
    next day); a completed one up to its end; any other up to its planned end."""
    if state["status"] in NOT_LIVE_STATUSES:
        return None
    terms = state["terms"]["contract"]
    last = {"ruptured": state.get("ruptured_on"), "completed": state.get("ended_on")}.get(state["status"])
    start, end = date.fromisoformat(terms["start_date"]), date.fromisoformat(last or terms["planned_end_date"])
    return None if end < start else Occupied(contract_id, start, end)


def normalise_idcc(idcc: str) -> str:
    s = idcc.strip()
    return str(int(s)) if s.isdigit() else s


def check_contract(document: Cerfa | ContractTerms, refs: References,
                   ctx: Context = Context()) -> tuple[str | None, list[Violation]]:
    """The OPCO to record and every violated rule not lifted by a derogation."""
    t = as_cerfa(document)
    opco, out = _opco(t, refs.idcc_opco)
    out += _dates(t) + _duration(t, ctx) + _age(t, ctx) + _identifiers(t) + _contract_type(t) + _masters(t, refs)
    out += _training_time(t) + _remuneration(t, refs) + _overlap(t, ctx) + _masters_load(t, ctx)
    if ctx.full_cerfa:
        out += _nir(t) + _legal_representative(t) + _pay_coverage(t) + _working_time(t) + _dangerous_machines(t)
    lifted = set(ctx.extra_lifted)
    for code in t.contract.derogations:
        lifted |= DEROGATION_LIFTS.get(code, set())
    return opco, [v for v in out if v.code not in lifted]


def _opco(t: Cerfa, table: dict[str, str]) -> tuple[str | None, list[Violation]]:
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


def _dates(t: Cerfa) -> list[Violation]:
    c, out = t.contract, []
    if c.planned_end_date <= c.start_date:
        out.append(Violation("contract.planned_end_date", "end_not_after_start",
                             "The planned end date must be after the start date."))
    if c.signed_on > c.start_date:
        out.append(Violation("contract.signed_on", "signed_after_start",
                             "The contract must be signed on or before its start date."))
    if t.training.cycle_start and t.training.cycle_start > c.start_date:
        out.append(Violation("training.cycle_start", "training_started_after_start",
                             "Pre-contract training cannot start after the contract."))
    if c.practical_training_start and c.practical_training_start < c.start_date:
        out.append(Violation("contract.practical_training_start", "practical_training_before_start",
                             "Practical training at the employer cannot start before the contract."))
    return out


def _duration(t: Cerfa, ctx: Context) -> list[Violation]:
    c, a = t.contract, t.apprentice
    if c.planned_end_date <= c.start_date:
        return []
    out, adj = [], c.duration_adjustment
    min_end = add_months(c.start_date, MIN_DURATION_MONTHS) - timedelta(days=1)
    short_ok = (adj is not None and adj.kind == "reduction") or ctx.previous_ruptured or a.high_level_athlete
    if c.planned_end_date < min_end and not short_ok:
        out.append(Violation("contract.planned_end_date", "duration_too_short",
                             f"A contract lasts at least {MIN_DURATION_MONTHS} months (ends on or after "
                             f"{min_end.isoformat()}).", "L6222-7-1"))
    max_months = MAX_DURATION_MONTHS_RQTH if a.rqth else MAX_DURATION_MONTHS
    max_end = add_months(c.start_date, max_months) - timedelta(days=1)
    long_ok = (adj is not None and adj.kind == "extension") or a.high_level_athlete
    if c.planned_end_date > max_end and not long_ok:
        out.append(Violation("contract.planned_end_date", "duration_too_long",
                             f"A contract lasts at most {max_months // 12} years (ends on or before "
                             f"{max_end.isoformat()}).", "L6222-7-1"))
    return out


def _overlap(t: Cerfa, ctx: Context) -> list[Violation]:
    """One apprentice, one contract at a time: the apprenticeship contract binds the apprentice
    to an employer (L6221-1). The law's only two-employer case, seasonal activities (L6222-5-1),
    is one contract concluded jointly by both employers, not two contracts: nothing to lift."""
    c = t.contract
    last = max(c.start_date, c.planned_end_date)
    return [Violation("apprentice.id", "overlapping_contract",
                      f"The apprentice is already under {_named(o)} from {o.start.isoformat()} to "
                      f"{o.end.isoformat()}: a second contract cannot cover the same days.", "L6221-1")
            for o in ctx.occupied if o.start <= last and c.start_date <= o.end]


def _named(o: Occupied) -> str:
    return f"contract {o.contract_id}" if o.contract_id else "another CFA's contract"


def _age(t: Cerfa, ctx: Context) -> list[Violation]:
    a, c = t.apprentice, t.contract
    age = age_on(a.birth_date, c.start_date)
    out = []
    minimum = MIN_AGE_LOWER_SECONDARY_DONE if a.lower_secondary_completed else MIN_AGE
    if age < minimum:
        out.append(Violation("apprentice.birth_date", "apprentice_too_young",
                             f"The apprentice must be at least {minimum} at the start (is {age}).", "L6222-1"))
    if a.rqth or a.high_level_athlete or a.business_creation_project:
        return out  # L6222-2: no upper age limit
    successor = ctx.previous_end is not None and \
        c.start_date <= add_months(ctx.previous_end, SUCCESSOR_WINDOW_MONTHS)
    limit = MAX_AGE_SUCCESSOR if successor else MAX_AGE
    if age > limit:
        out.append(Violation("apprentice.birth_date", "apprentice_too_old",
                             f"The apprentice must be at most {limit} at the start (is {age}).",
                             "L6222-2" if successor else "L6222-1"))
    return out


def _identifiers(t: Cerfa) -> list[Violation]:
    out = []
    sirets = [("employer.siret", t.employer.siret), ("training.cfa.siret", t.training.cfa.siret)]
    if t.training.place is not None:
        sirets.append(("training.place.siret", t.training.place.siret))
    for path, siret in sirets:
        if siret is not None and not siret_ok(siret):
            out.append(Violation(path, "siret_invalid", "Not a valid SIRET (14 digits, Luhn key)."))
    uais = [("training.cfa.uai", t.training.cfa.uai)]
    if t.training.place is not None:
        uais.append(("training.place.uai", t.training.place.uai))
    for path, uai in uais:
        if uai is not None and not uai_ok(uai):
            out.append(Violation(path, "uai_invalid", "Not a valid UAI (7 digits and their check letter)."))
    if not rncp_ok(t.training.certification.rncp):
        out.append(Violation("training.certification.rncp", "rncp_invalid",
                             "Not an RNCP code (RNCP followed by digits)."))
    if not idcc_ok(t.employer.idcc):
        out.append(Violation("employer.idcc", "idcc_invalid", "Not an IDCC (1 to 4 digits)."))
    return out


def _contract_type(t: Cerfa) -> list[Violation]:
    if t.contract.type not in SIGNATURE_CONTRACT_TYPES:
        return [Violation("contract.type", "contract_type_not_signable",
                          f"A signature is of type {', '.join(SIGNATURE_CONTRACT_TYPES)}; "
                          f"{t.contract.type} is an amendment's type (POST .../amendments).")]
    return []


def _is_minor(t: Cerfa) -> bool:
    return age_on(t.apprentice.birth_date, t.contract.start_date) < MAJORITY_AGE


def _nir(t: Cerfa) -> list[Violation]:
    a = t.apprentice
    if a.nir is None:
        return []
    parsed = nirs.parse(a.nir)
    if parsed is None:
        return [Violation("apprentice.nir", "nir_invalid",
                          "Not a NIR: 13 characters (sex, year, month, department, town, order) and a 2-digit key.")]
    out = []
    if parsed.key != parsed.expected_key:
        out.append(Violation("apprentice.nir", "nir_key_invalid",
                             f"The NIR's key is {parsed.expected_key:02d} for this number, not {parsed.key:02d}."))
    if wrong := nirs.inconsistencies(parsed, a.birth_date, a.sex):
        out.append(Violation("apprentice.nir", "nir_inconsistent",
                             f"The NIR contradicts the apprentice's {' and '.join(wrong)}."))
    return out


def _legal_representative(t: Cerfa) -> list[Violation]:
    if _is_minor(t) and t.apprentice.legal_representative is None:
        return [Violation("apprentice.legal_representative", "legal_representative_missing",
                          "A minor apprentice signs with a legal representative: give his or her name and address.",
                          "C. civ. 388-1-1")]
    return []


def _working_time(t: Cerfa) -> list[Violation]:
    c, out = t.contract, []
    if not _is_minor(t):
        return out
    weekly = weekly_hours(c) or Decimal(0)
    if weekly > MINOR_MAX_WEEKLY_HOURS:
        out.append(Violation("contract.weekly_hours", "minor_weekly_hours_exceeded",
                             f"A minor works at most {MINOR_MAX_WEEKLY_HOURS} hours a week ({weekly:.2f} declared).",
                             "L6222-25"))
    if c.daily_hours is not None and c.daily_hours > MINOR_MAX_DAILY_HOURS:
        out.append(Violation("contract.daily_hours", "minor_daily_hours_exceeded",
                             f"A minor works at most {MINOR_MAX_DAILY_HOURS} hours a day ({c.daily_hours} declared).",
                             "L6222-25"))
    return out


def _dangerous_machines(t: Cerfa) -> list[Violation]:
    c = t.contract
    if c.dangerous_machines and _is_minor(t) and c.dangerous_machines_declared_on is None:
        return [Violation("contract.dangerous_machines_declared_on", "dangerous_machines_not_declared",
                          "A minor on dangerous machines or exposed to particular risks needs the employer's "
                          "declaration of derogation to the labour inspectorate: give its date.", "R4153-40")]
    return []


def _masters(t: Cerfa, refs: References) -> list[Violation]:
    out = []
    level = t.training.certification.level
    with_diploma, without = refs.master_branch.get(normalise_idcc(t.employer.idcc),
                                                   (MASTER_YEARS_WITH_DIPLOMA, MASTER_YEARS_WITHOUT_DIPLOMA))
    for i, m in enumerate(t.masters):
        at = f"masters[{i}]"
        if m.birth_date and age_on(m.birth_date, t.contract.start_date) < MASTER_MIN_AGE:
            out.append(Violation(f"{at}.birth_date", "master_too_young",
                                 "The maître d'apprentissage must be of age at the start.", "L6223-8-1"))
        if m.meets_requirements is False:
            out.append(Violation(f"{at}.meets_requirements", "master_requirements_not_attested",
                                 "The employer must attest that the maître d'apprentissage meets the requirements.",
                                 "R6223-22"))
        years = m.related_experience_years
        if years is None:
            continue
        diploma_ok = bool(m.diploma_in_field) and m.diploma_level is not None and \
            (level is None or m.diploma_level >= level)
        if not ((diploma_ok and years >= with_diploma) or years >= without):
            out.append(Violation(f"{at}.related_experience_years", "master_not_competent",
                                 f"A maître d'apprentissage holds a diploma in the field of at least the "
                                 f"certification's level and {with_diploma} year(s) of related activity, or "
                                 f"{without} years of related activity ({years} declared"
                                 f"{', diploma in the field' if diploma_ok else ''}).", "R6223-22"))
    return out


def _max_at_once(periods: list[tuple[date, date]]) -> int:
    """The largest number of ``periods`` (first and last day, included) sharing one day."""
    points = sorted([(s, 0) for s, _ in periods] + [(e, 1) for _, e in periods])
    best = current = 0
    for _, is_end in points:          # on one day, starts come before ends: both count that day
        current += -1 if is_end else 1
        best = max(best, current)
    return best


def _masters_load(t: Cerfa, ctx: Context) -> list[Violation]:
    c, out = t.contract, []
    repeating = c.duration_adjustment is not None and c.duration_adjustment.kind == "extension"
    mine = (c.start_date, max(c.start_date, c.planned_end_date))
    for i, m in enumerate(t.masters):
        others = [o for o in ctx.tutored.get(m.id or "", ()) if o.start <= mine[1] and mine[0] <= o.end]
        regular = [(o.start, o.end) for o in others if not o.repeating] + ([] if repeating else [mine])
        extended = [(o.start, o.end) for o in others if o.repeating] + ([mine] if repeating else [])
        if _max_at_once(regular) > MASTER_MAX_APPRENTICES or _max_at_once(extended) > MASTER_MAX_REPEATING:
            out.append(Violation(f"masters[{i}]", "master_too_many_apprentices",
                                 f"This maître d'apprentissage already follows {len(others)} live apprentice(s) over "
                                 f"these days: at most {MASTER_MAX_APPRENTICES} at once, and "
                                 f"{MASTER_MAX_REPEATING} more whose training is extended after a failed exam.",
                                 "R6223-6"))
    return out


def required_hours(start: date, end: date, weekly: Decimal | None) -> int:
    """25 % of the working time from ``start`` to ``end``: 1 607 h a year prorated by the days
    (and by the weekly hours over 35 when given), rounded half up."""
    days = Decimal((end - start).days + 1)
    hours = LEGAL_YEARLY_HOURS * MIN_TRAINING_SHARE * days / DAYS_A_YEAR
    if weekly:
        hours = hours * weekly / LEGAL_WEEKLY_HOURS
    return int(hours.quantize(Decimal(1), ROUND_HALF_UP))


def required_training_hours(document: Cerfa | ContractTerms) -> int:
    """The training hours a contract needs (``required_hours`` of its dates and week)."""
    c = as_cerfa(document).contract
    return required_hours(c.start_date, c.planned_end_date, weekly_hours(c))


def weekly_hours(c) -> Decimal | None:
    """The contract's weekly working time in hours (hours and minutes on the form); None when
    the form leaves it empty."""
    if c.weekly_hours is None and c.weekly_minutes is None:
        return None
    return Decimal(c.weekly_hours or 0) + Decimal(c.weekly_minutes or 0) / 60


def _training_time(t: Cerfa) -> list[Violation]:
    c = t.contract
    if t.training.hours is None or c.planned_end_date <= c.start_date:
        return []
    need = required_training_hours(t)
    if t.training.hours < need:
        share = f"{MIN_TRAINING_SHARE * 100:.0f} %"
        return [Violation("training.hours", "training_time_too_low",
                          f"Training must be at least {share} of the working time: {need} h here.", "L6211-2")]
    return []


def _band(grid: list[dict[str, str]], age: int) -> dict[str, str]:
    return next(r for r in grid if int(r["min_age"]) <= age <= int(r["max_age"]))


def minimum_pct(grid: list[dict[str, str]], start: date, birth: date, d: date) -> tuple[Decimal, int]:
    """The minimum % of the SMIC on ``d`` for a contract started on ``start`` and an apprentice
    born on ``birth``, and the contract year: the age band changes on the first day of the month
    after a birthday (D6222-26, D6222-34)."""
    year = 1
    while add_months(start, 12 * year) <= d:
        year += 1
    age = age_on(birth, d)
    if age > 0 and d < first_of_month_after_birthday(birth, age):
        age -= 1
    return Decimal(_band(grid, age)[f"year_{min(year, GRID_LAST_CONTRACT_YEAR)}_pct_smic"]), year


def smic_on(smic: list[tuple[date, Decimal]], d: date) -> Decimal | None:
    """The monthly SMIC in force on ``d`` (None before the table's first date)."""
    found = None
    for since, amount in smic:
        if since <= d:
            found = amount
    return found


def _line_on(t: Cerfa, d: date):
    """The pay line in force on ``d``: the latest started, unless it ended before."""
    started = [p for p in sorted(t.contract.pay, key=lambda p: p.starts_on) if p.starts_on <= d]
    if not started or (started[-1].ends_on is not None and started[-1].ends_on < d):
        return None
    return started[-1]


def _remuneration(t: Cerfa, refs: References) -> list[Violation]:
    """No pay line below the minimum of the apprentice's age band and contract year, on any day
    (D6222-26): its % of the SMIC on every day it covers, and its gross monthly amount (the
    amount at its first day, as the form gives it) against the SMIC in force that day, prorated
    to a part-time week. An SMC line (the branch's minimum, never below the SMIC) is checked by
    its amount."""
    c = t.contract
    if not c.pay or c.planned_end_date <= c.start_date:
        return []
    birth = t.apprentice.birth_date
    points = {p.starts_on for p in c.pay} | {add_months(c.start_date, 12 * k) for k in range(REMUNERATION_ANNIVERSARIES)}
    points |= {first_of_month_after_birthday(birth, a) for a in REMUNERATION_AGE_STEPS}
    out, reported = [], set()
    for d in sorted(p for p in points if c.start_date <= p <= c.planned_end_date):
        line = _line_on(t, d)
        if line is None or line.base != "SMIC":
            continue
        need, year = minimum_pct(refs.grid, c.start_date, birth, d)
        if line.pct < need and year not in reported:
            reported.add(year)
            floor = _floor(t, refs, d, need)
            euros = f" ({floor} EUR a month)" if floor else ""
            out.append(Violation("contract.pay", "remuneration_below_minimum",
                                 f"From {d.isoformat()} (contract year {year}) the minimum is {need} % of the "
                                 f"SMIC{euros}; {line.pct} % declared.", "D6222-26"))
    for i, line in enumerate(sorted(c.pay, key=lambda p: p.starts_on)):
        d = max(line.starts_on, c.start_date)
        if line.gross_monthly is None or d > c.planned_end_date:
            continue
        need, year = minimum_pct(refs.grid, c.start_date, birth, d)
        floor = _floor(t, refs, d, need)
        if floor is not None and line.gross_monthly < floor:
            out.append(Violation("contract.pay", "pay_amount_below_minimum",
                                 f"On {d.isoformat()} (contract year {year}, SMIC {smic_on(refs.smic, d)} EUR) the "
                                 f"minimum is {floor} EUR a month; {line.gross_monthly} EUR declared.", "D6222-26"))
    return out


def _floor(t: Cerfa, refs: References, d: date, pct: Decimal) -> Decimal | None:
    smic = smic_on(refs.smic, d)
    return None if smic is None else monthly_amount(smic, pct, weekly_hours(t.contract))


def monthly_amount(smic: Decimal, pct: Decimal, weekly: Decimal | None) -> Decimal:
    """``pct`` % of the monthly ``smic``, prorated to a week under 35 hours, to the cent."""
    share = min(Decimal(1), weekly / LEGAL_WEEKLY_HOURS) if weekly else Decimal(1)
    return (smic * pct / 100 * share).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _pay_coverage(t: Cerfa) -> list[Violation]:
    """The pay lines cover every day of the contract, without a gap."""
    c = t.contract
    if not c.pay or c.planned_end_date <= c.start_date:
        return []
    lines = sorted(c.pay, key=lambda p: p.starts_on)
    uncovered, day = [], c.start_date
    for i, p in enumerate(lines):
        if p.starts_on > day:
            uncovered.append((day, p.starts_on - timedelta(days=1)))
        end = p.ends_on or (lines[i + 1].starts_on - timedelta(days=1) if i + 1 < len(lines) else c.planned_end_date)
        day = max(day, end + timedelta(days=1))
    if day <= c.planned_end_date:
        uncovered.append((day, c.planned_end_date))
    return [Violation("contract.pay", "pay_does_not_cover_contract",
                      f"No pay line covers {a.isoformat()} to {b.isoformat()}: the pay schedule covers the whole "
                      "contract.", "D6222-26") for a, b in uncovered]
