"""Public reference tables shipped with the code (copied from the project's shared/data):
IDCC -> OPCO, SMIC history, minimum remuneration grid, valeurs d'amorçage."""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache
def idcc_opco() -> dict[str, str]:
    """IDCC (without leading zeros) -> OPCO short code."""
    return {str(int(r["idcc"])) if r["idcc"].isdigit() else r["idcc"]: r["opco_code"]
            for r in _rows("idcc_opco.csv")}


@lru_cache
def opco_codes() -> frozenset[str]:
    return frozenset(idcc_opco().values())


@lru_cache
def smic_history() -> list[tuple[date, Decimal]]:
    """(in force from, monthly gross SMIC), oldest first."""
    return sorted((date.fromisoformat(r["effective_from"]), Decimal(r["monthly_gross_eur"]))
                  for r in _rows("smic.csv"))


@lru_cache
def remuneration_grid() -> list[dict[str, str]]:
    return _rows("remuneration_grid.csv")


@lru_cache
def seed_values() -> dict[int, Decimal]:
    """Valeur d'amorçage by certification level."""
    return {int(r["certification_level"]): Decimal(r["annual_amount_eur"]) for r in _rows("valeur_amorcage.csv")}


@lru_cache
def master_branch_conditions() -> dict[str, tuple[Decimal, Decimal]]:
    """IDCC -> (years of related activity with a diploma in the field, years without), where a
    branch agreement sets other conditions than R6223-22. Ships without rows: no branch value
    has been checked against its agreement yet (docs/cerfa.md); a row overrides the decree."""
    return {str(int(r["idcc"])): (Decimal(r["years_with_diploma"]), Decimal(r["years_without_diploma"]))
            for r in _rows("master_branch_conditions.csv")}
