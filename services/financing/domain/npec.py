"""Which NPEC (niveau de prise en charge) applies to a contract (docs/financing.md section 3)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class NpecRow:
    rncp: str
    cpne: str
    npec: Decimal
    applicable_from: date
    file_date: date = date.min


@dataclass
class Referential:
    """NPEC rows (France compétences), CPNE -> IDCC links, renovations, valeurs d'amorçage."""
    rows: list[NpecRow] = field(default_factory=list)
    cpne_by_idcc: dict[str, set[str]] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)        # renovated RNCP -> the code it replaces
    seed_values: dict[int, Decimal] = field(default_factory=dict)  # certification level -> amount
    _by_rncp: tuple[list[NpecRow], int, dict[str, list[NpecRow]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def rows_of(self, rncp: str) -> list[NpecRow]:
        """The rows of one RNCP code, in the referential's order: an index built on first use (and
        again if ``rows`` is replaced or grows), not a scan of every row for every contract."""
        cached = self._by_rncp
        if cached is None or cached[0] is not self.rows or cached[1] != len(self.rows):
            index: dict[str, list[NpecRow]] = {}
            for row in self.rows:
                index.setdefault(row.rncp, []).append(row)
            cached = self._by_rncp = (self.rows, len(self.rows), index)
        return cached[2].get(rncp, [])


@dataclass
class NpecFile:
    """France compétences' referential as read from its file: NPEC rows (rncp, cpne, npec,
    applicable_from, label, status) and CPNE -> IDCC links (cpne, idcc)."""
    npec: list[dict]
    cpne_idcc: list[dict]


@dataclass(frozen=True)
class Npec:
    amount: Decimal | None
    source: str        # opco_decision, referential, seed_value, npec_missing


def _idcc(v: str | None) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return str(int(s)) if s.isdigit() else s


def lookup(ref: Referential, rncp: str | None, idcc: str | None, signed_on: date) -> Decimal | None:
    """Rows of this RNCP (or of the code it renovates) for a CPNE of this IDCC, applicable on the
    signature date: the latest applicability wins, then the latest file."""
    cpnes = ref.cpne_by_idcc.get(_idcc(idcc) or "", set())
    seen: set[str] = set()
    code = rncp
    while code and code not in seen:
        seen.add(code)
        rows = [r for r in ref.rows_of(code) if r.cpne in cpnes and r.applicable_from <= signed_on]
        if rows:
            return max(rows, key=lambda r: (r.applicable_from, r.file_date)).npec
        code = ref.replaces.get(code)
    return None


def resolve(ref: Referential, accepted_level: Decimal | None, rncp: str | None, idcc: str | None,
            level: int | None, signed_on: date) -> Npec:
    if accepted_level is not None:
        return Npec(accepted_level, "opco_decision")
    found = lookup(ref, rncp, idcc, signed_on)
    if found is not None:
        return Npec(found, "referential")
    if level is not None and level in ref.seed_values:
        return Npec(ref.seed_values[level], "seed_value")
    return Npec(None, "npec_missing")
