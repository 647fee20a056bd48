"""What the funding rules and the quality analytics need to know of each contract, folded from
contract events (pure).
Events arrive in the catalogue's shape: ``type``, ``subject`` (contract id), ``data``, at any
version: each is read at the current one (contract_events.upcasting)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from contract_events.upcasting import read_data


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


@dataclass
class ContractFacts:
    contract_id: str
    apprentice_id: str
    opco: str | None
    cfa_uai: str | None
    cfa_siret: str | None
    employer_siret: str | None
    idcc: str | None
    rncp: str | None
    level: int | None
    signed_on: date
    start_date: date
    planned_end_date: date
    training_started_on: date | None
    previous_contract_id: str | None
    reduction_with_convention: bool
    remote_80: bool
    training_hours: int | None
    order: int                                    # arrival order of the signature, for overlaps
    accepted_level: Decimal | None = None
    disability_uplift: Decimal | None = None
    funding: str | None = None                    # accepted, refused, implicitly_*
    deposited_on: date | None = None
    ruptured_on: date | None = None
    rupture_reason: str | None = None
    continues_training: bool = False
    post_rupture_ended_on: date | None = None
    successor_signed_on: date | None = None
    completed_on: date | None = None
    cancelled: bool = False
    events: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.funding in ("refused", "implicitly_rejected")


def fold_facts(events: Iterable[dict[str, Any]]) -> dict[str, ContractFacts]:
    """Contracts by id, in signature order. Events of unknown contracts are ignored."""
    facts: dict[str, ContractFacts] = {}
    for ev in events:
        t, data = ev["type"], read_data(ev)
        cid = data.get("contract_id") or ev.get("subject")
        if t == "contract.signed":
            facts[cid] = _signed(cid, data, len(facts))
            continue
        f = facts.get(cid)
        if f is None:
            continue
        f.events.append(t)
        match t:
            case "contract.funding_accepted":
                f.funding = "accepted"
                f.accepted_level = Decimal(str(data["annual_funding_level"]))
                uplift = data.get("disability_uplift_annual")
                f.disability_uplift = Decimal(str(uplift)) if uplift is not None else None
            case "contract.funding_refused" | "contract.funding_implicitly_rejected":
                f.funding = "refused" if t.endswith("refused") else "implicitly_rejected"
            case "contract.funding_implicitly_accepted":
                f.funding = "implicitly_accepted"
            case "contract.deposited":
                f.deposited_on = _d(data.get("deposited_on"))
            case "contract.amended":
                changes = data.get("changes") or {}
                dates = changes.get("contract") or {}
                if dates.get("planned_end_date"):
                    f.planned_end_date = date.fromisoformat(dates["planned_end_date"])
                if dates.get("start_date"):
                    f.start_date = date.fromisoformat(dates["start_date"])
                if changes.get("opco"):
                    f.opco = changes["opco"]
            case "contract.ruptured":
                f.ruptured_on = _d(data["ruptured_on"])
                f.rupture_reason = data.get("reason")
                f.continues_training = bool(data.get("continues_training"))
            case "contract.rehired":
                f.successor_signed_on = _d(data.get("signed_on"))
            case "contract.post_rupture_training_ended":
                f.post_rupture_ended_on = _d(data.get("ended_on"))
            case "contract.completed":
                f.completed_on = _d(data.get("ended_on"))
            case "contract.cancelled":
                f.cancelled = True
    return facts


def parties_set_by(ev: dict[str, Any]) -> dict[str, str]:
    """The parties (``cfa_uai``, ``cfa_siret``, ``opco``) a contract event names: all three on a
    signature, the OPCO on an amendment that changes it, none otherwise."""
    t, data = ev["type"], read_data(ev)
    if t == "contract.signed":
        cfa = (data.get("training") or {}).get("cfa") or {}
        return {k: v for k, v in {"cfa_uai": cfa.get("uai"), "cfa_siret": cfa.get("siret"),
                                  "opco": data.get("opco")}.items() if v}
    if t == "contract.amended" and ((data.get("changes") or {}).get("opco")):
        return {"opco": data["changes"]["opco"]}
    return {}


def _signed(cid: str, d: dict[str, Any], order: int) -> ContractFacts:
    """The facts of a signature. Its fields by position, in ContractFacts' order: matching 18
    keyword arguments to their parameters cost about a sixth of the whole fold (tests/unit/
    financing/test_engine_records.py gives each field a value of its own)."""
    contract, training, employer = d.get("contract") or {}, d.get("training") or {}, d.get("employer") or {}
    adj = contract.get("duration_adjustment") or {}
    cert, cfa = training.get("certification") or {}, training.get("cfa") or {}
    return ContractFacts(
        cid,                                                                  # contract_id
        (d.get("apprentice") or {}).get("id", cid),                           # apprentice_id
        d.get("opco"),                                                        # opco
        cfa.get("uai"),                                                       # cfa_uai
        cfa.get("siret"),                                                     # cfa_siret
        employer.get("siret"),                                                # employer_siret
        employer.get("idcc"),                                                 # idcc
        cert.get("rncp"),                                                     # rncp
        cert.get("level"),                                                    # level
        date.fromisoformat(contract["signed_on"]),                            # signed_on
        date.fromisoformat(contract["start_date"]),                           # start_date
        date.fromisoformat(contract["planned_end_date"]),                     # planned_end_date
        _d(training.get("cycle_start")),                                      # training_started_on
        contract.get("previous_contract_id"),                                 # previous_contract_id
        adj.get("kind") == "reduction" and bool(adj.get("tripartite_convention")),   # reduction_with_convention
        bool(training.get("remote_at_least_80_percent")),                     # remote_80
        training.get("hours"),                                                # training_hours
        order)                                                                # order


def rncp_of(event: dict[str, Any]) -> str | None:
    """The RNCP code a signature names (None for any other event)."""
    if event["type"] != "contract.signed":
        return None
    return ((read_data(event).get("training") or {}).get("certification") or {}).get("rncp")
