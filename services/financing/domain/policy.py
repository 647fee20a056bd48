"""Every choice the funding texts leave open, in one place (docs/financing.md). Change here only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

R2025_FROM = date(2025, 7, 1)                 # décrets 2025-585/586: contracts concluded from then
PRE_CONTRACT_MONTHS = 3                       # L6222-12-1: at most 3 months before the start
FUNDING_YEAR_MONTHS = 12                      # a funding year: 12 months from the span's first day;
                                              #   R6332-25 (R2019): LEVEL x months started / 12
SHORT_CONTRACT_MONTHS = 12                    # +10 % only under 12 months (months started)
REDUCTION_UPLIFT = Decimal("0.10")            # L6222-7-1, R6332-25
REMOTE_SHARE_FACTOR = Decimal("0.8")          # décret 2025-586: at least 80 % remote
REMOTE_FLOOR = Decimal("4000")                #   LEVEL = max(0.8 x NPEC, min(NPEC, 4000))
EMPLOYER_CONTRIBUTION_MIN_LEVEL = 6           # décret 2025-585: certification level 6 or above
EMPLOYER_CONTRIBUTION = Decimal("750")
EMPLOYER_CONTRIBUTION_AFTER_RUPTURE = Decimal("200")
DISABILITY_UPLIFT_CAP = Decimal("4000")       # décret 2020-1450
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Options:
    """Switches kept off until their formula is confirmed (docs/financing.md section 5)."""
    prorate_employer_contribution: bool = False


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class Advance:
    number: int
    share: Decimal | None     # None: the balance of the funding year
    due: str                  # "invoice" (30 days after the invoice), "month:N", "end", "attestation"


# Échéancier per regime (docs/financing.md section 6), as data.
SCHEDULES = {
    "R2019": [Advance(1, Decimal("0.50"), "invoice"), Advance(2, Decimal("0.25"), "month:6"),
              Advance(3, None, "month:9")],
    "R2019_short": [Advance(1, Decimal("0.50"), "invoice"), Advance(2, None, "end")],
    "R2025": [Advance(1, Decimal("0.40"), "invoice"), Advance(2, Decimal("0.30"), "month:6"),
              Advance(3, Decimal("0.20"), "month:9"), Advance(4, None, "attestation")],
}
SHORT_SCHEDULE_MONTHS = 12                    # R2019: a span under 12 months (started) is paid in two
                                              #   advances, the balance at its end (section 6)
INVOICE_PAYMENT_DAYS = 30
ATTESTATION_MONTHS = 4                        # last year's 10 %: on invoice within 4 months of the end

# Frais annexes (D6332-87, section 7)
FEES_ARTICLE = "D6332-87"
MEAL = Decimal("3")
NIGHT = Decimal("6")
BOARDING_DAY = Decimal("12")
FIRST_EQUIPMENT_CAP = Decimal("500")
FEES_PER_DAY = {"meal": 2, "night": 1, "boarding_day": 1, "mobility": 1}   # lunch and dinner; one night
DAILY_FEES_FROM_ADVANCE = 2                   # meals, nights, boarding: on the invoices from the 2nd advance
FIRST_EQUIPMENT_BY_ADVANCE = 2                # first equipment: on the 1st or 2nd advance of year 1


def regime_of(signed_on: date) -> str:
    return "R2025" if signed_on >= R2025_FROM else "R2019"
