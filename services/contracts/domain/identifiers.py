"""Well-formed identifiers: SIRET/SIREN (Luhn), UAI (check letter), RNCP code, IDCC."""
from __future__ import annotations

import re

_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O, Q
LA_POSTE_SIREN = "356000000"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def siret_ok(siret: str) -> bool:
    if not re.fullmatch(r"\d{14}", siret):
        return False
    if siret.startswith(LA_POSTE_SIREN):  # La Poste's establishments: digit sum multiple of 5
        return sum(map(int, siret)) % 5 == 0
    return luhn_ok(siret[:9]) and luhn_ok(siret)


def uai_check_letter(number: str) -> str:
    """The check letter of a UAI's 7 digits: the number modulo 23 indexes the 23-letter alphabet."""
    return _UAI_LETTERS[int(number) % 23]


def uai_ok(uai: str) -> bool:
    """7 digits and their check letter."""
    m = re.fullmatch(r"(\d{7})([A-Z])", uai)
    return bool(m) and uai_check_letter(m.group(1)) == m.group(2)


def rncp_ok(code: str) -> bool:
    return re.fullmatch(r"RNCP\d{3,6}", code) is not None


def idcc_ok(idcc: str) -> bool:
    return re.fullmatch(r"\d{1,4}", idcc.strip()) is not None
