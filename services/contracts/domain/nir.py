"""The NIR (numéro d'inscription au répertoire, the social security number): its shape, its key
and what it says of the person (pure). 13 characters then a 2-digit key: sex (1 man, 2 woman;
3, 4, 7, 8 for numbers given before a definitive registration), year and month of birth (month
20 to 42 or 50 to 99 when unknown), department (2A and 2B for Corsica, 96 to 99 abroad), town,
order number. The key is 97 minus the 13-character number modulo 97, Corsica's 2A and 2B read as
19 and 18 (INSEE)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SHAPE = re.compile(r"([1-478])(\d{2})(\d{2})(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})")
CORSICA_AS_DIGITS = {"2A": "19", "2B": "18"}
NIR_MODULUS = 97


@dataclass(frozen=True)
class Nir:
    sex_digit: str
    year: int          # two digits
    month: int         # 1-12, or the codes of an unknown month
    department: str
    key: int
    number: str        # the 13 characters, Corsica as written

    @property
    def expected_key(self) -> int:
        digits = self.number[:5] + CORSICA_AS_DIGITS.get(self.department, self.department) + self.number[7:]
        return NIR_MODULUS - int(digits) % NIR_MODULUS


def normalise(raw: str) -> str:
    return re.sub(r"\s", "", raw).upper()


def parse(raw: str) -> Nir | None:
    """The NIR's parts, None when it is not shaped as one."""
    m = _SHAPE.fullmatch(normalise(raw))
    if m is None:
        return None
    sex, yy, mm, dept, _, _, key = m.groups()
    return Nir(sex, int(yy), int(mm), dept, int(key), normalise(raw)[:13])


def inconsistencies(nir: Nir, birth_date: date, sex: str | None) -> list[str]:
    """What the NIR contradicts: ``sex`` (M/F) against its first digit (1/2 only), the year and
    the month of birth (a month code over 12 means unknown)."""
    out = []
    if sex is not None and nir.sex_digit in "12" and {"1": "M", "2": "F"}[nir.sex_digit] != sex:
        out.append("sex")
    if nir.year != birth_date.year % 100:
        out.append("birth year")
    if 1 <= nir.month <= 12 and nir.month != birth_date.month:
        out.append("birth month")
    return out


def with_key(thirteen: str) -> str:
    """The 15-character NIR of a 13-character number (for generated data)."""
    nir = Nir("1", 0, 0, thirteen[5:7], 0, thirteen)
    return f"{thirteen}{nir.expected_key:02d}"
