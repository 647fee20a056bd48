"""Pseudonymous ids (pure): the only identity of an apprentice or a master that leaves the
contracts service. A keyed hash (HMAC-SHA256, the key kept in the contracts database, never
published) of the NIR, or, without one, of the civil identity (birth name, first names, birth
date): the same person gets the same id across contracts, and nobody without the key can go
back from the id to the person, nor test a guessed NIR against it."""
from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

from services.contracts.domain.nir import normalise as normalise_nir

APPRENTICE_PREFIX, MASTER_PREFIX = "app-", "ma-"
DIGEST_CHARS = 24


def _fold(text: str | None) -> str:
    """Case, accents, spaces and hyphens do not tell two people apart."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if ch.isalnum()).upper()


def _digest(key: bytes, prefix: str, material: str) -> str:
    return prefix + hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def identity(birth_name: str | None, first_names: str | None, birth_date: date | None) -> str | None:
    if not birth_name or not first_names or birth_date is None:
        return None
    return f"civil:{_fold(birth_name)}|{_fold(first_names)}|{birth_date.isoformat()}"


def apprentice_id(key: bytes, nir: str | None, birth_name: str | None, first_names: str | None,
                  birth_date: date) -> str | None:
    material = f"nir:{normalise_nir(nir)}" if nir else identity(birth_name, first_names, birth_date)
    return _digest(key, APPRENTICE_PREFIX, material) if material else None


def master_id(key: bytes, birth_name: str | None, first_names: str | None, birth_date: date | None) -> str | None:
    material = identity(birth_name, first_names, birth_date)
    return _digest(key, MASTER_PREFIX, material) if material else None


def master_id_of(key: bytes, master: dict) -> str | None:
    """A master's id from the master's box of the CERFA as JSON (an avenant's patch)."""
    birth = master.get("birth_date")
    return master_id(key, master.get("birth_name"), master.get("first_names"),
                     date.fromisoformat(birth) if isinstance(birth, str) else birth)
