"""The thresholds the contracts service applies, one named constant each, with the article it
comes from (Code du travail unless said otherwise; docs/domain.md has the rules in full). A value
the texts leave open is marked **project's choice**. The checks that use them are in rules.py
(signature and avenant) and lifecycle.py (commands and deadlines). The 6 months of post-rupture
training (L6222-18-2) are ``POST_RUPTURE_MONTHS`` in kernel/legal.py: financing applies them too."""
from __future__ import annotations

from decimal import Decimal

# -- Age of the apprentice: full years on the start date ------------------------------------------
MIN_AGE = 16                       # L6222-1: at least 16 at the start
MIN_AGE_LOWER_SECONDARY_DONE = 15  # L6222-1: 15 once the first cycle of secondary education is done
MAX_AGE = 29                       # L6222-1: at most 29 at the start (under 30)
MAX_AGE_SUCCESSOR = 34             # L6222-2: a successor contract, for an apprentice up to 34 ...
SUCCESSOR_WINDOW_MONTHS = 12       # L6222-2: ... starting within a year of the previous one's end
# L6222-2 also lifts the upper limit for an RQTH apprentice, a high-level athlete and a business
# creation project (flags of the apprentice, checked in rules._age).

# -- Duration of the contract: start + n months - 1 day ------------------------------------------
MIN_DURATION_MONTHS = 6            # L6222-7-1: at least 6 months
MAX_DURATION_MONTHS = 36           # L6222-7-1: at most 3 years
MAX_DURATION_MONTHS_RQTH = 48      # L6222-7-1 as the code cites it: 4 years for an RQTH apprentice

# -- Master (maître d'apprentissage) --------------------------------------------------------------
MASTER_MIN_AGE = 18                # L6223-8-1: of age at the start
MASTER_MAX_APPRENTICES = 2         # R6223-6: at most two apprentices at once ...
MASTER_MAX_REPEATING = 1           # R6223-6: ... and one more whose training is extended after a
                                   # failed exam (a contract with an extension, L6222-11)
MASTER_YEARS_WITH_DIPLOMA = 1      # R6223-22 1°: a diploma or title in the field of the certification,
                                   # of at least its level, and 1 year of related activity ...
MASTER_YEARS_WITHOUT_DIPLOMA = 2   # R6223-22 2°: ... or 2 years of related activity. A branch
                                   # agreement may set other conditions: kernel/reference/
                                   # master_branch_conditions.csv, by IDCC

# -- Minor apprentice -----------------------------------------------------------------------------
MAJORITY_AGE = 18                  # C. civ. 414: under 18 at the start, the apprentice is a minor
MINOR_MAX_DAILY_HOURS = Decimal(8)     # L6222-25: a minor works at most 8 hours a day ...
MINOR_MAX_WEEKLY_HOURS = Decimal(35)   # L6222-25: ... and 35 hours a week
# R4153-40: a minor on dangerous machines or exposed to particular risks needs the employer's
# declaration of derogation to the labour inspectorate (checked in rules._dangerous_machines);
# C. civ. 388-1-1: a minor is represented by a legal representative, who signs the CERFA

# -- Types of contract signed (31 to 38 are amendments: contract.amended) -------------------------
SIGNATURE_CONTRACT_TYPES = ("11", "21", "22", "23")

# -- Training time --------------------------------------------------------------------------------
MIN_TRAINING_SHARE = Decimal("0.25")   # L6211-2: at least 25 % of the working time
LEGAL_YEARLY_HOURS = Decimal(1607)     # the ministry FAQ's basis for L6211-2: 402 h a full year
LEGAL_WEEKLY_HOURS = Decimal(35)       # L3121-27: the legal weekly working time
DAYS_A_YEAR = Decimal(365)             # project's choice: hours prorated by the contract's days / 365

# -- Remuneration: % of the SMIC by age band and contract year ------------------------------------
REMUNERATION_AGE_STEPS = (18, 21, 26)  # D6222-26: the grid's bands; each applies from the first of
                                       # the month after the birthday (D6222-34)
GRID_LAST_CONTRACT_YEAR = 3            # D6222-26: the grid's columns are years 1, 2, 3 and later
REMUNERATION_ANNIVERSARIES = 6         # project's choice: the start and the next 5 anniversaries
                                       # are sampled (every duration the rules allow, and more)

# -- Transmission and the funder's decision (deadlines) --------------------------------------------
TRANSMISSION_WORKING_DAYS = 5      # D6224-1: within 5 jours ouvrables after the start
DECISION_DAYS = 20                 # D6224-2 and following: 20 days from the complete file; read as
                                   # calendar days (project's choice)

# -- Rupture --------------------------------------------------------------------------------------
RUPTURE_DAYS_BEFORE_START = 1      # project's choice: a rupture may be dated the day before the
                                   # start at the earliest (earlier: cancel instead)

# -- CERFA derogation codes -> the checks they lift (50: several derogations at once) -------------
DEROGATION_LIFTS = {
    "11": {"apprentice_too_young"}, "12": {"apprentice_too_old"},
    "21": {"duration_too_short"}, "22": {"duration_too_long"},
    "50": {"apprentice_too_young", "apprentice_too_old", "duration_too_short", "duration_too_long"},
}
