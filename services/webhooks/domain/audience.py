"""Who may receive an event: the parties it concerns (a CFA by UAI or SIRET, an OPCO), read from
the event and from what earlier events said of its contract or account, then the one tenancy
rule (kernel/access.py) the GET endpoints apply. Pure.

- a contract event concerns its contract's CFA and OPCO (the signature names them; an amendment
  may change the OPCO);
- a money event (invoice, payment, regularisation: ``partitionkey`` is the account ``UAI:OPCO``)
  concerns that CFA and that OPCO, the CFA's SIRET as its invoices name it;
- a fee event (``fees-<apprentice>``) concerns the CFA and OPCO of the contract it names."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from contract_events.facts import parties_set_by
from kernel.access import Principal, can_see

CONTRACTS_SOURCE = "/parcours/contracts"
FINANCING_SOURCE = "/parcours/financing"


@dataclass(frozen=True)
class Parties:
    cfa_uai: str | None = None
    cfa_siret: str | None = None
    opco: str | None = None

    def updated(self, changes: dict[str, str]) -> "Parties":
        return replace(self, **{k: v for k, v in changes.items() if v})


NOBODY = Parties()


def parties_key(ce: dict[str, Any]) -> str | None:
    """Where the parties of this event are kept: its contract, or its account for money events."""
    if ce.get("source") == CONTRACTS_SOURCE:
        return f"contract:{ce.get('subject')}"
    if ce.get("source") == FINANCING_SOURCE:
        key = str(ce.get("partitionkey") or "")
        if ":" in key:
            return f"account:{key}"
        contract = (ce.get("data") or {}).get("contract_id")
        return f"contract:{contract}" if contract else None
    return None


def learned(ce: dict[str, Any], known: Parties) -> Parties:
    """The parties after this event (a signature or amendment names them; an account is its
    UAI and OPCO, its SIRET from the invoices)."""
    if ce.get("source") == CONTRACTS_SOURCE:
        return known.updated(parties_set_by(ce))
    key = str(ce.get("partitionkey") or "")
    if ce.get("source") == FINANCING_SOURCE and ":" in key:
        uai, opco = key.split(":", 1)
        return known.updated({"cfa_uai": uai, "opco": opco, "cfa_siret": (ce.get("data") or {}).get("cfa_siret")})
    return known


def may_receive(owner: Principal, parties: Parties) -> bool:
    return can_see(owner, parties.cfa_uai or "", parties.cfa_siret, parties.opco)
