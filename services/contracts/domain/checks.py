"""Checks on a contract's terms at signature (pure). Each failure is a Violation naming its
field, a stable code and, for legal rules, the article of the Code du travail."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.contracts.domain.model import ContractTerms


@dataclass(frozen=True)
class Violation:
    field: str
    code: str
    message: str
    article: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def check_dates(t: ContractTerms) -> list[Violation]:
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


def check_opco(t: ContractTerms, idcc_opco: dict[str, str]) -> tuple[str | None, list[Violation]]:
    """The OPCO of the employer's IDCC; a given OPCO must agree with the table."""
    expected = idcc_opco.get(normalise_idcc(t.employer.idcc))
    if t.opco is None:
        if expected is None:
            return None, [Violation("opco", "opco_unknown_for_idcc",
                                    f"IDCC {t.employer.idcc} is not in the IDCC-OPCO table: give the OPCO.")]
        return expected, []
    if expected is not None and t.opco != expected:
        return t.opco, [Violation("opco", "opco_inconsistent_with_idcc",
                                  f"IDCC {t.employer.idcc} belongs to {expected}, not {t.opco}.")]
    return t.opco, []


def normalise_idcc(idcc: str) -> str:
    s = idcc.strip()
    return str(int(s)) if s.isdigit() else s


def check_signature(t: ContractTerms, idcc_opco: dict[str, str]) -> tuple[str | None, list[Violation]]:
    opco, violations = check_opco(t, idcc_opco)
    return opco, check_dates(t) + violations
