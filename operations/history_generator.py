"""Realistic apprenticeship histories, deterministic from a seed (tests, rebuilds, benchmarks):
signatures over three years and both regimes, transmissions, decisions, deposits, amendments,
25 % ruptures of which half continue training and a third are rehired with another OPCO,
completions.

Every signature is a whole CERFA (``contract.signed`` version 2, operations/cerfa_samples.py)
that passes the contracts service's checks; an amendment (version 2) is a merge patch over it.
The contracts' skeleton (ids, dates, durations, what happens to them) is drawn from the seed as
before version 2; the CERFA's contents from a second generator seeded alike, so the same seed
still gives the same file."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterator

from contract_events.upcasting import merge_patch
from operations import cerfa_samples as samples

OPCOS = [("1486", "ATLAS"), ("1979", "AKTO"), ("2216", "OPCOMMERCE"), ("1000", "OPCOEP")]
CFAS = ["0751234J", "0931234L", "0754321P"]   # the first two: the demo CFA keys' UAIs


@dataclass
class Append:
    """The events one command appends (one transaction), per stream."""
    streams: list[tuple[str, int, list[tuple[str, dict[str, Any]]]]]  # (stream, expected version, events)
    partition_key: str


def successor_type(previous_ruptured: bool, same_employer: bool) -> str:
    """The CERFA's contract type of a new contract after a previous one: 21 the previous one
    completed with the same employer, 22 completed with another, 23 ruptured with another."""
    if previous_ruptured:
        return "23"
    return "21" if same_employer else "22"


def _signed(rng, people, cid, apprentice, signed_on, idcc, opco, previous=None) -> dict:
    """A whole CERFA. ``apprentice``: the id of a first contract's apprentice, or for a successor
    (``previous``: the contract ruptured before) that contract's data, whose apprentice, CFA and
    certification continue."""
    start = signed_on + timedelta(days=rng.randint(0, 20))
    months = rng.choice([12, 18, 24, 24, 36])
    end = start + timedelta(days=int(months * 30.4))
    uai, level = rng.choice(CFAS), rng.choice([4, 5, 6])   # drawn for a successor too: the same skeleton
    if previous is None:
        person = samples.apprentice(people, apprentice, start, level)
        certification = samples.certification(people, idcc, level)
        cycle_start = None
    else:
        person = samples.successor_apprentice(previous["apprentice"])
        uai, certification = previous["training"]["cfa"]["uai"], previous["training"]["certification"]
        cycle_start = date.fromisoformat(previous["training"]["cycle_start"])
    return samples.cerfa(people, contract_id=cid, opco=opco, apprentice_doc=person,
                         employer_doc=samples.employer(people, idcc), cfa_uai=uai, certification=certification,
                         signed_on=signed_on, start=start, end=end,
                         contract_type=successor_type(True, False) if previous else "11",
                         previous_contract_id=previous["contract_id"] if previous else None, cycle_start=cycle_start)


def generate(contracts: int, seed: int = 7) -> Iterator[Append]:
    rng = random.Random(seed)
    ids = random.Random(seed + 1)
    people = random.Random(seed + 2)

    def uid() -> str:
        return str(uuid.UUID(int=ids.getrandbits(128)))

    first_day = date(2023, 9, 1)
    made = 0
    while made < contracts:
        apprentice = f"app-{uid()[:13]}"
        idcc, opco = rng.choice(OPCOS)
        cid = uid()
        signed_on = first_day + timedelta(days=rng.randint(0, 3 * 365))
        data = _signed(rng, people, cid, apprentice, signed_on, idcc, opco)
        start = date.fromisoformat(data["contract"]["start_date"])
        events: list[tuple[str, dict]] = [("contract.signed", data)]
        events.append(("contract.transmitted", {"contract_id": cid, "transmitted_on": start.isoformat(), "by": "cfa"}))
        events.append(("contract.funding_accepted", {"contract_id": cid, "decided_on": start.isoformat(),
                                                     "annual_funding_level": str(rng.choice([6000, 7000, 8200]))}))
        events.append(("contract.deposited", {"contract_id": cid, "deposited_on": start.isoformat(),
                                              "deposit_number": f"D{made}"}))
        yield Append([(cid, 0, events)], apprentice)
        version, made = 4, made + 1
        roll = rng.random()
        if roll < 0.10:
            new_end = date.fromisoformat(data["contract"]["planned_end_date"]) + timedelta(days=90)
            patch = samples.extension_patch(data, new_end)
            yield Append([(cid, version, [("contract.amended", {"contract_id": cid, "effective_on": start.isoformat(),
                                                                 "amendment_type": "33", "changes": patch})])],
                         apprentice)
            data = merge_patch(data, patch)
            version += 1
        if roll < 0.25:
            ruptured_on = start + timedelta(days=rng.randint(20, 300))
            continues = rng.random() < 0.5
            yield Append([(cid, version, [("contract.ruptured", {"contract_id": cid, "ruptured_on": ruptured_on.isoformat(),
                                                                  "reason": "mutual_agreement",
                                                                  "continues_training": continues})])], apprentice)
            version += 1
            if continues and rng.random() < 1 / 3 and made < contracts:
                other_idcc, other_opco = rng.choice([o for o in OPCOS if o[1] != opco])
                new = uid()
                signed2 = ruptured_on + timedelta(days=rng.randint(10, 150))
                succ = _signed(rng, people, new, apprentice, signed2, other_idcc, other_opco, previous=data)
                yield Append([(new, 0, [("contract.signed", succ)]),
                              (cid, version, [("contract.rehired", {"contract_id": cid, "new_contract_id": new,
                                                                    "signed_on": signed2.isoformat(),
                                                                    "opco": other_opco})])], apprentice)
                made += 1
        elif roll > 0.6:
            ended_on = data["contract"]["planned_end_date"]
            yield Append([(cid, version, [("contract.completed", {"contract_id": cid, "ended_on": ended_on,
                                                                   "diploma_obtained": True})])], apprentice)
